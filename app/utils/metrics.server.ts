import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { AuditEntry, AuditLog } from '../../domain/ports/audit-log'
import type { ConnectionRepository } from '../../domain/ports/connection-repository'

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

// --- link attempts: counted at the composition root, without touching the use cases ---

/**
 * `wa_link_attempts_total{result}` values (bounded):
 * - `generated` / `already_connected` / `denied` / `error`: how a QR or pairing-code request ended;
 * - `linked`: a phone got linked (notAuthorized/starting → authorized, by webhook, poll or reconcile);
 * - `expired`: the link attempt ran out of time without a scan.
 */
export type LinkAttemptResult = 'generated' | 'already_connected' | 'denied' | 'error' | 'linked' | 'expired'

const LINK_ACTIONS = new Set(['whatsapp.link.qr', 'whatsapp.link.pairing_code'])

/**
 * Audit decorator: the link use cases write exactly one audit entry per request
 * (`whatsapp.link.qr` / `whatsapp.link.pairing_code`, outcome + error code), so the entry is where
 * a request's result is known.
 */
export function countLinkRequests(audit: AuditLog, metrics: Pick<Metrics, 'linkAttempts'>): AuditLog {
  return {
    async append(entry: AuditEntry) {
      if (LINK_ACTIONS.has(entry.action)) {
        const code = typeof entry.details?.error === 'string' ? entry.details.error : undefined
        const result: LinkAttemptResult =
          entry.outcome === 'success' ? 'generated' : code === 'ALREADY_CONNECTED' ? 'already_connected' : entry.outcome === 'denied' ? 'denied' : 'error'
        metrics.linkAttempts.inc({ result })
      }
      await audit.append(entry)
    },
  }
}

/**
 * Connection repository decorator: counts `linked` when a status write moves a pending link to
 * `authorized` (not the `alreadyLogged` path, counted as already_connected) and `expired` when
 * an attempt is recorded as timed out. Every other method is passed through untouched.
 */
export function countLinkResults<R extends ConnectionRepository>(repo: R, metrics: Pick<Metrics, 'linkAttempts'>): R {
  const applyStatus: ConnectionRepository['applyStatus'] = async (tenantId, update) => {
    const result = await repo.applyStatus(tenantId, update)
    if (
      result.outcome === 'changed' &&
      result.record.status === 'authorized' &&
      (result.previous.status === 'notAuthorized' || result.previous.status === 'starting') &&
      update.source !== 'link'
    ) {
      metrics.linkAttempts.inc({ result: 'linked' })
    }
    return result
  }
  const recordLinkExpired: ConnectionRepository['recordLinkExpired'] = async (tenantId, at) => {
    const expired = await repo.recordLinkExpired(tenantId, at)
    if (expired) metrics.linkAttempts.inc({ result: 'expired' })
    return expired
  }
  return new Proxy(repo, {
    get(target, prop) {
      if (prop === 'applyStatus') return applyStatus
      if (prop === 'recordLinkExpired') return recordLinkExpired
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  })
}
// --- end link attempts ---
