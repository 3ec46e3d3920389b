import type { LoaderFunctionArgs } from '@remix-run/node'
import { getServices } from '../services.server'
import { apiHandler } from '../utils/api.server'
import { clientIp } from '../utils/auth.server'
import { requireApiContext } from '../utils/guards.server'
import { errorResponse } from '../utils/http-errors.server'
import { requireWhatsApp } from '../utils/whatsapp.server'
import { getConnectionStatus } from '../../domain/whatsapp'
import { presentStatus } from '../api/presenters'
import type { StatusResponse } from '../api/schemas'

const HEARTBEAT_MS = 15_000
/** How long the browser's EventSource waits before it reconnects (after a lifetime end, too). */
const RETRY_MS = 3_000

/**
 * The socket's close signal from the express shell (server/http-app.ts). `request.signal` is
 * only a fallback: Remix links it to the real one through a WeakRef, so after a garbage
 * collection a closed tab would never end its stream.
 */
function closedSignal(request: Request, context: unknown): AbortSignal {
  const closed = (context as { closed?: unknown } | undefined)?.closed
  return closed instanceof AbortSignal ? closed : request.signal
}

// GET /api/wa/events — text/event-stream of the caller's tenant status. The first event is the
// current status; later ones arrive through PostgreSQL LISTEN/NOTIFY from any app process, and
// so do `message-status` events ({id, status} of a message whose status changed).
// Streams are capped per user, tenant and IP (429) and end after SSE_MAX_LIFETIME_SECONDS; the
// EventSource then reconnects, so a stream never outlives its client for long.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: false, context })
    await requireWhatsApp(ctx.tenantId)
    const release = services.eventStreams.tryAcquire({ userId: ctx.userId, tenantId: ctx.tenantId, ip: clientIp(context) })
    if (!release) {
      return errorResponse(429, 'RATE_LIMITED', 'Too many open event streams; close another tab or retry later', {
        headers: { 'Retry-After': '30' },
      })
    }
    let initial: StatusResponse
    try {
      // The hot path's cached row, like GET /api/wa/qr/status: a burst of new streams must not
      // take one pooled connection each.
      initial = presentStatus(await getConnectionStatus(services.whatsappHotPath, { tenantId: ctx.tenantId }))
    } catch (e) {
      release()
      throw e
    }
    const closed = closedSignal(request, context)
    const encoder = new TextEncoder()
    let cleanup = () => {}
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (chunk: string) => {
          try {
            controller.enqueue(encoder.encode(chunk))
          } catch {
            cleanup()
          }
        }
        send(`retry: ${RETRY_MS}\nevent: status\ndata: ${JSON.stringify(initial)}\n\n`)
        const unsubscribeStatus = services.statusHub.subscribe(ctx.tenantId, (_tenantId, status) => {
          send(`event: status\ndata: ${JSON.stringify(presentStatus(status))}\n\n`)
        })
        // A message's new status: its id and status only (the page updates that row).
        const unsubscribeMessages = services.statusHub.subscribeMessages(ctx.tenantId, (m) => {
          send(`event: message-status\ndata: ${JSON.stringify({ id: m.messageId, status: m.status })}\n\n`)
        })
        const unsubscribe = () => {
          unsubscribeStatus()
          unsubscribeMessages()
        }
        const heartbeat = setInterval(() => send(`: heartbeat\n\n`), HEARTBEAT_MS)
        const lifetime = setTimeout(() => cleanup(), services.env.SSE_MAX_LIFETIME_SECONDS * 1000)
        services.metrics.sseClients.inc()
        let ended = false
        cleanup = () => {
          if (ended) return
          ended = true
          clearInterval(heartbeat)
          clearTimeout(lifetime)
          unsubscribe()
          release()
          closed.removeEventListener('abort', onClosed)
          services.metrics.sseClients.dec()
          try {
            controller.close()
          } catch {
            /* already closed */
          }
        }
        const onClosed = () => cleanup()
        if (closed.aborted) cleanup()
        else closed.addEventListener('abort', onClosed, { once: true })
      },
      cancel() {
        cleanup()
      },
    })
    return new Response(stream, {
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      },
    })
  })
}
