import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { LinkOutcome, LinkOutcomes } from '../../domain/ports/link-outcomes'

/** Prometheus metrics (names: docs/operations.md#metrics). One registry per process. */
export interface BreakerCounts {
  closed: number
  open: number
  halfOpen: number
}

export function createMetrics() {
  let breakerSource = (): BreakerCounts => ({ closed: 0, open: 0, halfOpen: 0 })
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
      help: 'Link attempts by result: generated, already_connected, denied, error (QR/pairing requests); linked, expired (outcomes)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    sseClients: new Gauge({ name: 'wa_sse_clients', help: 'Open SSE streams', registers: [registry] }),
    breakers: new Gauge({
      name: 'greenapi_breakers',
      help: 'Per-instance Green-API circuit breakers by state (closed, open, half_open)',
      labelNames: ['state'] as const,
      registers: [registry],
      // Read at scrape time from whatever the composition root plugged in.
      collect() {
        const s = breakerSource()
        this.set({ state: 'closed' }, s.closed)
        this.set({ state: 'open' }, s.open)
        this.set({ state: 'half_open' }, s.halfOpen)
      },
    }),
    /** Where `greenapi_breakers` reads from (the Green-API provider). */
    setBreakerSource(read: () => BreakerCounts) {
      breakerSource = read
    },
  }
}

export type Metrics = ReturnType<typeof createMetrics>

/** `wa_link_attempts_total{result}`: the use cases report each outcome through this port. */
export class PrometheusLinkOutcomes implements LinkOutcomes {
  constructor(private readonly metrics: Pick<Metrics, 'linkAttempts'>) {}

  record(outcome: LinkOutcome): void {
    this.metrics.linkAttempts.inc({ result: outcome })
  }
}
