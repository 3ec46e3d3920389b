import type { LoaderFunctionArgs } from '@remix-run/node'
import { openEventStream } from '../utils/event-stream-open.server'

// GET /api/wa/events — text/event-stream of the caller's tenant status. The first event is the
// current status; later ones arrive through PostgreSQL LISTEN/NOTIFY from any app process, and
// so do `message-status` events ({id, status} of a message whose status changed).
// Streams are capped per user, tenant and IP (429) and end after SSE_MAX_LIFETIME_SECONDS; the
// EventSource then reconnects, so a stream never outlives its client for long.
//
// The shell serves this path itself, on the node response and before express (server/http-app.ts,
// decisions 225 and 250): a Response and a ReadableStream per stream cost about 27 KB each. This
// loader is the same stream for a server that runs the build without that shell, and for
// spellings of the path the shell leaves to Remix (a trailing slash, another case).
export async function loader({ request, context }: LoaderFunctionArgs) {
  const opened = await openEventStream(request, context)
  if (opened instanceof Response) return opened
  let stream: { close(): void } | undefined
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      stream = opened.attach({
        write(chunk) {
          controller.enqueue(chunk)
          return true
        },
        end() {
          try {
            controller.close()
          } catch {
            /* already closed */
          }
        },
        // Not measured here: a reader that does not read is the express shell's to end.
        writableLength: 0,
      })
      // The socket's close signal from the load context when there is one: Remix links
      // `request.signal` to the real one through a WeakRef, which a GC may collect (issue 13).
      const ctxClosed = (context as { closed?: unknown } | undefined)?.closed
      const closed = ctxClosed instanceof AbortSignal ? ctxClosed : request.signal
      if (closed.aborted) stream.close()
      else closed.addEventListener('abort', () => stream?.close(), { once: true })
    },
    cancel() {
      stream?.close()
    },
  })
  return new Response(body, { headers: opened.headers })
}
