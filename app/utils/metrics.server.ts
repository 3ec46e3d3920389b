import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** Prometheus metrics (SPEC section 11 names). One registry per process. */
export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    greenapiRequests: new Counter({
      name: 'greenapi_requests_total',
      help: 'Green-API calls by method and outcome',
      labelNames: ['method', 'outcome'] as const,
      registers: [registry],
    }),
    greenapiDuration: new Histogram({
      name: 'greenapi_request_duration_seconds',
      help: 'Green-API call latency',
      labelNames: ['method'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
    linkAttempts: new Counter({
      name: 'wa_link_attempts_total',
      help: 'Link attempts by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    sseClients: new Gauge({ name: 'wa_sse_clients', help: 'Open SSE streams', registers: [registry] }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
