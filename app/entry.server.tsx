import { PassThrough } from 'node:stream'
import type { AppLoadContext, EntryContext } from '@remix-run/node'
import { createReadableStreamFromReadable } from '@remix-run/node'
import { RemixServer } from '@remix-run/react'
import { isbot } from 'isbot'
import { renderToPipeableStream } from 'react-dom/server'
import { DocumentContextProvider } from './utils/nonce-provider'

export { bootServices, shutdownServices } from './services.server'

const ABORT_DELAY = 5_000

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  // The nonce the express shell put in the Content-Security-Policy of this response.
  const nonce = typeof loadContext.cspNonce === 'string' ? loadContext.cspNonce : ''
  const callbackName = isbot(request.headers.get('user-agent') ?? '') ? 'onAllReady' : 'onShellReady'
  return new Promise((resolve, reject) => {
    let shellRendered = false
    const { pipe, abort } = renderToPipeableStream(
      <DocumentContextProvider value={{ nonce, liveReload: Boolean(process.env.REMIX_DEV_ORIGIN) }}>
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
