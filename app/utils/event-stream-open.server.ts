import { getConnectionStatus } from '../../domain/whatsapp'
import { presentStatus } from '../api/presenters'
import { getServices } from '../services.server'
import { apiHandler } from './api.server'
import { clientIp } from './auth.server'
import type { StreamSink } from './event-streams.server'
import { requireApiContext } from './guards.server'
import { localizedError } from './http-errors.server'
import { requireWhatsApp } from './whatsapp.server'

/** How long the browser's EventSource waits before it reconnects (after a lifetime end, too). */
const RETRY_MS = 3_000

export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-store, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
}

/** A stream the caller may open: its slot is taken and its first event is ready. */
export interface EventStreamGrant {
  readonly headers: Readonly<Record<string, string>>
  /** Starts the stream on `sink`; `close()` when the client went away. */
  attach(sink: StreamSink): { close(): void }
  /** Gives the slot back without streaming (the client left meanwhile, or a HEAD request). */
  cancel(): void
}

/**
 * `GET /api/wa/events` up to its first byte, whoever writes the stream (the express shell's
 * handler in server/http-app.ts, or the Remix route): the caller (Bearer or session, through
 * identifyCaller), the add-on, a slot under the per-user, tenant and IP caps, and the first
 * event — the current status from the hot path's cached row, like GET /api/wa/qr/status, so a
 * burst of new streams does not take one pooled connection each. Any refusal is the API's
 * envelope (401/403/429/503) as a Response.
 */
export async function openEventStream(request: Request, context: unknown): Promise<Response | EventStreamGrant> {
  const services = getServices()
  let grant: EventStreamGrant | undefined
  const refused = await apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: false, context })
    await requireWhatsApp(ctx.tenantId)
    const release = services.eventStreams.tryAcquire({ userId: ctx.userId, tenantId: ctx.tenantId, ip: clientIp(context) })
    if (!release) {
      // Thrown: apiHandler answers it in the caller's language (decision 256).
      throw localizedError(429, 'RATE_LIMITED', 'api.eventStreams.tooMany', { headers: { 'Retry-After': '30' } })
    }
    let first: string
    try {
      const status = presentStatus(await getConnectionStatus(services.whatsappHotPath, { tenantId: ctx.tenantId }))
      first = `retry: ${RETRY_MS}\nevent: status\ndata: ${JSON.stringify(status)}\n\n`
    } catch (e) {
      release()
      throw e
    }
    const tenantId = ctx.tenantId
    grant = {
      headers: EVENT_STREAM_HEADERS,
      attach: (sink) => services.eventFanout.open(tenantId, sink, first, release),
      cancel: release,
    }
    return new Response(null, { status: 204 })
  })
  return grant ?? refused
}
