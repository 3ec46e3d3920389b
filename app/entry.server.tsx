import { PassThrough } from 'node:stream'
import type { LoaderFunctionArgs, EntryContext } from '@remix-run/node'
import { createReadableStreamFromReadable } from '@remix-run/node'
import { RemixServer, isRouteErrorResponse } from '@remix-run/react'
import { isbot } from 'isbot'
import { renderToPipeableStream, renderToStaticMarkup } from 'react-dom/server'
import { UnavailablePage } from './components/unavailable-page'
import stylesHref from './styles/app.css'
import {
  noteDatabaseUnavailable,
  unavailableDataResponse,
  unavailableDocument,
  unavailableTexts,
  wasDatabaseUnavailable,
} from './utils/unavailable.server'

export { bootServices, shutdownServices } from './services.server'

const ABORT_DELAY = 5_000

/**
 * Remix calls this for every error of a loader, action or render, before the response is
 * built. A database that is down or too slow marks the request (one warn line) so the page
 * becomes a 503 "temporarily unavailable" (decision 095); anything else is printed as before.
 */
export function handleError(error: unknown, { request }: Pick<LoaderFunctionArgs, 'request'>) {
  if (noteDatabaseUnavailable(request, error)) return
  if (!request.signal.aborted) console.error(isRouteErrorResponse(error) && (error as { error?: unknown }).error ? (error as { error?: unknown }).error : error)
}

/** Client-side navigations (`?_data=`) of a request marked by handleError: a caught 503. */
export function handleDataRequest(response: Response, { request }: Pick<LoaderFunctionArgs, 'request'>) {
  return wasDatabaseUnavailable(request) ? unavailableDataResponse(request) : response
}

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
) {
  if (wasDatabaseUnavailable(request)) {
    return unavailableDocument(request, renderToStaticMarkup(<UnavailablePage {...unavailableTexts(request)} stylesHref={stylesHref} />))
  }
  const callbackName = isbot(request.headers.get('user-agent') ?? '') ? 'onAllReady' : 'onShellReady'
  return new Promise((resolve, reject) => {
    let shellRendered = false
    const { pipe, abort } = renderToPipeableStream(
      <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} />,
      {
        [callbackName]: () => {
          shellRendered = true
          const body = new PassThrough()
          responseHeaders.set('Content-Type', 'text/html; charset=utf-8')
          responseHeaders.set('X-Content-Type-Options', 'nosniff')
          responseHeaders.set('Referrer-Policy', 'same-origin')
          responseHeaders.set('X-Frame-Options', 'DENY')
          resolve(
            new Response(createReadableStreamFromReadable(body), {
              headers: responseHeaders,
              status: responseStatusCode,
            }),
          )
          pipe(body)
        },
        onShellError(error: unknown) {
          reject(error)
        },
        onError(error: unknown) {
          responseStatusCode = 500
          // Render errors are logged without request data (no cookies or tokens).
          if (shellRendered) console.error(error instanceof Error ? error.message : 'render error')
        },
      },
    )
    setTimeout(abort, ABORT_DELAY)
  })
}
