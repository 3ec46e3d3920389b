import type { LoaderFunctionArgs } from '@remix-run/node'
import { getServices } from '~/services.server'
import { apiHandler } from '~/utils/api.server'
import { requireApiContext } from '~/utils/guards.server'
import { requireWhatsApp } from '~/utils/whatsapp.server'
import { getConnectionStatus } from '../../domain/whatsapp'
import { statusBody } from '~/api/presenters'

const HEARTBEAT_MS = 15_000

// GET /api/wa/events — text/event-stream of the caller's tenant status. The first event is the
// current status; later ones arrive through PostgreSQL LISTEN/NOTIFY from any app process.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: false, context })
    await requireWhatsApp(ctx.tenantId)
    const initial = statusBody(await getConnectionStatus(services.wa, { tenantId: ctx.tenantId }))
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
        send(`retry: 3000\nevent: status\ndata: ${JSON.stringify(initial)}\n\n`)
        const unsubscribe = services.statusHub.subscribe(ctx.tenantId, (snapshot) => {
          const body = { connected: snapshot.connected, status: snapshot.status, ...(snapshot.phoneNumber && snapshot.connected ? { phoneNumber: snapshot.phoneNumber } : {}), checkedAt: new Date().toISOString() }
          send(`event: status\ndata: ${JSON.stringify(body)}\n\n`)
        })
        const heartbeat = setInterval(() => send(`: heartbeat\n\n`), HEARTBEAT_MS)
        services.metrics.sseClients.inc()
        let closed = false
        cleanup = () => {
          if (closed) return
          closed = true
          clearInterval(heartbeat)
          unsubscribe()
          services.metrics.sseClients.dec()
          try {
            controller.close()
          } catch {
            /* already closed */
          }
        }
        request.signal.addEventListener('abort', () => cleanup(), { once: true })
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
