import { PassThrough } from 'node:stream'
import type { AppLoadContext, EntryContext, HandleErrorFunction, LoaderFunctionArgs } from '@remix-run/node'
import { createReadableStreamFromReadable } from '@remix-run/node'
import { RemixServer, isRouteErrorResponse } from '@remix-run/react'
import { isbot } from 'isbot'
import { renderToPipeableStream, renderToStaticMarkup } from 'react-dom/server'
import { UnavailablePage } from './components/unavailable-page'
import { getServices } from './services.server'
import stylesHref from './styles/app.css'
import { getLang } from './utils/lang.server'
import { DocumentContextProvider } from './utils/nonce-provider'
import {
  noteDatabaseUnavailable,
  unavailableDataResponse,
  unavailableDocument,
  unavailableTexts,
  wasDatabaseUnavailable,
} from './utils/unavailable.server'

// What the serving process calls (typed by AppServerEntry in app/boot.server.ts).
export { bootServices, bootedSimulator, shutdownServices } from './boot.server'
export { openEventStream } from './utils/event-stream-open.server'

/**
 * Where Remix reports errors it caught (its default prints them, stack and all, to stderr).
 * An unknown URL or a wrong verb is ordinary traffic, already in the request log line; anything
 * else is one JSON line at error level, by name and message only (no request data, no stack).
 */
export const handleError: HandleErrorFunction = (error, { request }) => {
  // A database that is down or too slow marks the request (one warn line): the page becomes a
  // 503 "temporarily unavailable" (decision 095).
  if (noteDatabaseUnavailable(request, error)) return
  if (request.signal.aborted) return
  const logger = getServices().logger
  if (isRouteErrorResponse(error) && error.status < 500) {
    logger.debug({ status: error.status, path: new URL(request.url).pathname }, 'route error response')
    return
  }
  const err = error instanceof Error ? { name: error.name, message: error.message } : { name: typeof error }
  logger.error({ err, method: request.method, path: new URL(request.url).pathname }, 'unhandled route error')
}

const ABORT_DELAY = 5_000

/** Client-side navigations (`?_data=`) of a request marked by handleError: a caught 503. */
export function handleDataRequest(response: Response, { request }: Pick<LoaderFunctionArgs, 'request'>) {
  return wasDatabaseUnavailable(request) ? unavailableDataResponse(request) : response
}

export default async function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  if (wasDatabaseUnavailable(request)) {
    return unavailableTexts(request).then((texts) =>
      unavailableDocument(request, renderToStaticMarkup(<UnavailablePage {...texts} stylesHref={stylesHref} />)),
    )
  }
  // The nonce the express shell put in the Content-Security-Policy of this response.
  const nonce = typeof loadContext.cspNonce === 'string' ? loadContext.cspNonce : ''
  const callbackName = isbot(request.headers.get('user-agent') ?? '') ? 'onAllReady' : 'onShellReady'
  const lang = await getLang(request)
  return new Promise((resolve, reject) => {
    let shellRendered = false
    const { pipe, abort } = renderToPipeableStream(
      <DocumentContextProvider value={{ nonce, liveReload: Boolean(getServices().env.REMIX_DEV_ORIGIN), lang }}>
        <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} />
      </DocumentContextProvider>,
      {
        nonce,
        [callbackName]: () => {
          shellRendered = true
          const body = new PassThrough()
          responseHeaders.set('Content-Type', 'text/html; charset=utf-8')
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
