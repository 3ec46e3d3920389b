import type http from 'node:http'
import path from 'node:path'
import { createRequestHandler, writeReadableStreamToWritable, type AppLoadContext, type ServerBuild } from '@remix-run/node'
import compression from 'compression'
import express, { type Router } from 'express'
import { requestSite } from '../app/utils/csrf.server'
import type { StreamSink } from '../app/utils/event-streams.server'
import { API_DOCS_ASSETS_PATH, apiDocsAssets } from './api-docs-assets'
import { apiMethodsFromBuild } from './api-methods'
import { appEntryOf } from './app-entry'
import { DEFAULT_BODY_LIMITS, bufferedBody, limitRequestBody, type BodyLimits } from './body-limit'
import { edgeText } from './edge-texts'
import { appObservability, markRemix, observeRequest, requestObservability } from './observability'
import { parseServerEnv, projectRoot } from './runtime'
import { cspNonce, securityHeaders, staticSecurityHeaders } from './security-headers'

export interface HttpAppOptions {
  /** The Remix build, or (`npm run dev`) a getter for the latest one, re-imported after each rebuild. */
  build: ServerBuild | (() => ServerBuild)
  /** Extra routers mounted before Remix (the Green-API simulator in simulator mode). */
  routers?: Array<{ path: string; router: Router }>
  /** Request body limits; default: the booted app's env (BODY_LIMIT_*), else 64/16/8 KiB. */
  bodyLimits?: BodyLimits
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * CSRF backstop for cookie-authenticated mutations, before Remix sees them: an unsafe request
 * without a Bearer token whose Origin (or Sec-Fetch-Site) says cross-site is refused with 403.
 * Bearer-authenticated API calls and server-to-server webhooks (no Origin) are not affected;
 * the guards check the same rule again for cookie sessions.
 */
function rejectCrossSite(req: express.Request, res: express.Response, next: express.NextFunction): void {
  if (SAFE_METHODS.has(req.method) || /^Bearer\s/i.test(req.get('authorization') ?? '')) return next()
  const publicUrl = bootedEnv()?.PUBLIC_URL
  const expected = typeof publicUrl === 'string' ? new URL(publicUrl).origin : `${req.protocol}://${req.get('host')}`
  const site = requestSite({ origin: req.get('origin') ?? null, secFetchSite: req.get('sec-fetch-site') ?? null }, expected)
  if (site !== 'cross-site') return next()
  const message = edgeText(req.headers, 'api.auth.csrf')
  const body = { ok: false, error: 'CSRF_REJECTED', message }
  const wantsJson = req.path.startsWith('/api/') || req.query._data !== undefined || !req.accepts('html')
  if (wantsJson) res.status(403).set('Cache-Control', 'no-store').json(body)
  else res.status(403).type('text/plain').send(`${message} (403)`)
}

function localOriginOf(req: express.Request): string {
  const address = (req.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '')
  // On loopback, `localhost` (what a developer browses, and what resolves on either family).
  const host = address === '127.0.0.1' || address === '::1' ? 'localhost' : address.includes(':') ? `[${address}]` : address
  return `http://${host}:${req.socket.localPort ?? 80}`
}

/** The booted app's configuration (app/utils/env.server.ts, parsed once at boot), if booted. */
function bootedEnv(): Record<string, unknown> | undefined {
  return (appObservability() as { env?: Record<string, unknown> } | undefined)?.env
}

/** The booted app's body limits, or the defaults. */
function bootedBodyLimits(): BodyLimits {
  const env = bootedEnv()
  const n = (v: unknown, d: number) => (typeof v === 'number' ? v : d)
  return {
    webhookBytes: n(env?.BODY_LIMIT_WEBHOOK_BYTES, DEFAULT_BODY_LIMITS.webhookBytes),
    jsonBytes: n(env?.BODY_LIMIT_JSON_BYTES, DEFAULT_BODY_LIMITS.jsonBytes),
    formBytes: n(env?.BODY_LIMIT_FORM_BYTES, DEFAULT_BODY_LIMITS.formBytes),
  }
}

function remixHeaders(incoming: express.Request['headers']): Headers {
  const headers = new Headers()
  for (const [key, values] of Object.entries(incoming)) {
    // As @remix-run/express does: an empty header (e.g. `X-Tenant:`) is dropped, not passed on.
    if (!values) continue
    for (const value of Array.isArray(values) ? values : [values]) headers.append(key, value)
  }
  return headers
}

async function sendRemixResponse(res: express.Response, response: Response): Promise<void> {
  res.statusMessage = response.statusText
  res.status(response.status)
  for (const [key, value] of response.headers.entries()) res.append(key, value)
  // Event streams start at once (the first event may be a while coming).
  if (/text\/event-stream/i.test(response.headers.get('content-type') ?? '')) res.flushHeaders()
  if (response.body) await writeReadableStreamToWritable(response.body, res)
  else res.end()
}

/** The request's URL as Remix sees it (as the express adapter builds it). */
function requestUrl(req: express.Request): URL {
  // As the express adapter does: req.hostname honours "trust proxy"; the port comes from the headers.
  const port = [req.get('x-forwarded-host'), req.get('host')]
    .map((h) => Number.parseInt(h?.split(':')[1] ?? '', 10))
    .find(Number.isSafeInteger)
  return new URL(`${req.protocol}://${req.hostname}${port ? `:${port}` : ''}${req.originalUrl}`)
}

/** The path the shell streams itself (the Remix route `api.wa.events` is its fallback). */
const EVENTS_PATH = '/api/wa/events'
/** Its Remix route id: the `route` of its log line and of http_requests_total. */
const EVENTS_ROUTE = 'routes/api.wa.events'

/** `GET|HEAD /api/wa/events` exactly (any other spelling reaches the Remix route). */
function isEventStreamRequest(req: http.IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false
  const url = req.url ?? ''
  const q = url.indexOf('?')
  return (q < 0 ? url : url.slice(0, q)) === EVENTS_PATH
}

/** Where `flattenHead` puts what it reads (a store, so the read is never optimised away). */
let _lastHeadByte = 0

/**
 * Node keeps the head it sent (`_header`, read by `headersSent`) for the response's life, and
 * V8 keeps that string as the rope of its `+=` pieces: about 75 strings, 2.4 KB per open
 * stream. Reading one character flattens it in place (one flat string of a few hundred bytes).
 * If Node renames the field, nothing breaks: the heap per stream grows back (the bench shows it).
 */
function flattenHead(res: http.ServerResponse): void {
  const head = (res as unknown as { _header?: unknown })._header
  if (typeof head === 'string') _lastHeadByte = head.charCodeAt(0)
}

const CRLF = Buffer.from('\r\n')
/** The last event's bytes and their chunked framing: the fan-out writes the same bytes to every stream. */
let framedOf: Uint8Array | undefined
let framed = Buffer.alloc(0)

function chunkOf(bytes: Uint8Array): Buffer {
  if (bytes !== framedOf) {
    framed = Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`, 'latin1'), bytes, CRLF])
    framedOf = bytes
  }
  return framed
}

/**
 * The stream's bytes straight to its socket (decision 254), its head already sent: one
 * `socket.write` of one buffer framed once per event for every stream, instead of
 * `res.write`'s four writes, cork and next-tick uncork per stream. `end()` is the response's
 * own (the last chunk, keep-alive or close). A class: its methods are shared, not closures per stream.
 */
class SocketSink implements StreamSink {
  constructor(private readonly res: http.ServerResponse) {}

  write(chunk: Uint8Array): boolean {
    const socket = this.res.socket
    if (!socket) throw new Error('socket gone')
    return socket.write(this.res.chunkedEncoding ? chunkOf(chunk) : chunk)
  }

  end(): void {
    this.res.end()
  }

  get writableLength(): number {
    return this.res.socket?.writableLength ?? 0
  }
}

/**
 * `GET /api/wa/events` on the node response itself (decisions 225, 250), before express sees
 * the request: a stream lives for minutes, and whatever express and the shell's middleware
 * leave on a request and its response (express's prototype swap gives each its own hidden
 * class, pino-http a child logger and listeners, helmet a header map, the router its closures)
 * would be kept for each open stream. A throwaway express view of the request (`view`) gives
 * the decision express's own reading of the client IP, protocol and host (trust proxy); the
 * app build decides (auth, add-on, caps, first event: `openEventStream`, the same code as the
 * Remix route); the shell writes the same request id, log line and counter (`observeRequest`)
 * and the same security headers, computed once (`staticSecurityHeaders`), in one `writeHead`,
 * then hands the response to the app's fan-out; its `close` event ends the stream. A refusal
 * is the same envelope Remix would send.
 */
function eventStreamHandler(app: express.Express, build: () => ServerBuild, security: Readonly<Record<string, string>>) {
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const view = Object.assign(Object.create(app.request) as express.Request, {
      app,
      headers: req.headers,
      method: req.method,
      url: req.url,
      originalUrl: req.url,
      socket: req.socket,
      connection: req.socket,
    })
    const requestId = observeRequest(view, res, EVENTS_ROUTE)
    try {
      const request = new Request(requestUrl(view).href, { method: req.method, headers: remixHeaders(req.headers) })
      const context: Omit<AppLoadContext, 'closed'> = { ip: view.ip ?? null, cspNonce: '', localOrigin: localOriginOf(view) }
      const opened = await appEntryOf(build()).openEventStream(request, context)
      if (opened instanceof Response) {
        res.statusCode = opened.status
        res.statusMessage = opened.statusText
        for (const [key, value] of Object.entries(security)) res.setHeader(key, value)
        res.setHeader('X-Request-Id', requestId)
        for (const [key, value] of opened.headers.entries()) res.appendHeader(key, value)
        if (opened.body) await writeReadableStreamToWritable(opened.body, res)
        else res.end()
        return
      }
      // One writeHead with every header: no per-response header map stays behind.
      const headers = { ...security, ...opened.headers, 'X-Request-Id': requestId }
      if (req.method === 'HEAD' || res.destroyed || req.socket.destroyed) {
        opened.cancel()
        res.writeHead(200, headers).end()
        return
      }
      res.writeHead(200, headers)
      res.flushHeaders()
      flattenHead(res)
      res.on('close', opened.attach(new SocketSink(res)).close)
    } catch (err) {
      // As answerUnexpectedError does, without express.
      logUnhandled(err, req.method, EVENTS_PATH)
      if (res.headersSent) return void res.destroy()
      res
        .writeHead(500, {
          ...security,
          'Content-Type': 'application/json',
          'Cache-Control': 'no-store',
          'X-Request-Id': requestId,
        })
        .end(JSON.stringify(internalErrorBody(req.headers)))
    }
  }
}

/**
 * Remix behind express, like `@remix-run/express`'s handler, except that the body is the one
 * `limitRequestBody` already read and bounded (the node stream is consumed by then) and the load
 * context carries the socket's close signal.
 */
function remixHandler(build: () => ServerBuild, mode: string) {
  // One Remix handler per build object, not a build function: given a function, Remix derives
  // the route tree again on every request (flattenRoutes, compilePath, computeScore: about 15 %
  // of a status request's CPU in the bench profile). A new build (development rebuild) gets a
  // new handler.
  let current: { build: ServerBuild; handle: ReturnType<typeof createRequestHandler> } | undefined
  const handlerOf = () => {
    const now = build()
    if (current?.build !== now) current = { build: now, handle: createRequestHandler(now, mode) }
    return current.handle
  }
  return async (req: express.Request, res: express.Response, next: express.NextFunction): Promise<void> => {
    try {
      const handle = handlerOf()
      const closing = new AbortController()
      res.once('close', () => closing.abort())
      const url = requestUrl(req)
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : bufferedBody(req)
      const request = new Request(url.href, {
        method: req.method,
        headers: remixHeaders(req.headers),
        signal: closing.signal,
        ...(body ? { body: new Uint8Array(body) } : {}),
      })
      const context: AppLoadContext = {
        ip: req.ip ?? null,
        cspNonce: res.locals.cspNonce as string,
        closed: closing.signal,
        localOrigin: localOriginOf(req),
      }
      await sendRemixResponse(res, await handle(request, context as never))
    } catch (error) {
      next(error)
    }
  }
}

/** One JSON log line for a failure nothing answered: its name and message, never its stack. */
function logUnhandled(err: unknown, method: string | undefined, path: string): void {
  const e = err instanceof Error ? { name: err.name, message: err.message } : { name: typeof err }
  appObservability()?.logger.error({ err: e, method, path }, 'unhandled HTTP error')
}

/** The envelope of a 500, in the language the request asks for. */
function internalErrorBody(headers: http.IncomingHttpHeaders) {
  return { ok: false, error: 'INTERNAL', message: edgeText(headers, 'api.internal') }
}

/**
 * The last express error handler: whatever reached `next(err)` (a body-parser error in the
 * simulator's routers, a failure in the Remix adapter) answers the envelope and leaves one JSON
 * log line, instead of express's HTML page with a stack trace on stderr.
 */
// express tells error handlers by their four parameters.
function answerUnexpectedError(err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction): void {
  const status = typeof (err as { status?: unknown })?.status === 'number' ? (err as { status: number }).status : 500
  const clientError = status >= 400 && status < 500
  if (!clientError) logUnhandled(err, req.method, req.path)
  // Too late for an answer; express's own handler would print the stack to stderr.
  if (res.headersSent) return void res.destroy()
  const body = clientError
    ? {
        ok: false,
        error: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_FAILED',
        message: edgeText(req.headers, 'api.validation'),
      }
    : internalErrorBody(req.headers)
  res
    .status(clientError ? status : 500)
    .set('Cache-Control', 'no-store')
    .json(body)
}

const publicDir = path.join(projectRoot, 'public')

/**
 * public/ is served on its own paths only: the compiled assets (content-hashed, so immutable),
 * Swagger UI's initializer and the favicon the pages link. A catch-all `express.static` in
 * front of Remix made every API request and page pay a failed fs.stat first (skipping it
 * measured 1.12x requests/s), and a stray file under public/api/ would have shadowed a route.
 * A file added to public/ is listed here (tests/integration/static-assets.test.ts checks that
 * every one is served).
 */
function mountPublicAssets(app: express.Express): void {
  app.use('/build', express.static(path.join(publicDir, 'build'), { immutable: true, maxAge: '1y', index: false }))
  app.use('/api-docs', express.static(path.join(publicDir, 'api-docs'), { maxAge: '1h', index: false }))
  for (const file of ['favicon.svg']) {
    app.get(`/${file}`, (_req, res, next) =>
      res.sendFile(path.join(publicDir, file), { maxAge: '1h' }, (err?: Error & { status?: number; code?: string }) => {
        if (!err || res.headersSent) return
        // The client went away before the file was sent: nothing left to answer (falling
        // through to Remix then threw on the half-closed response: 50 "unhandled HTTP error"
        // lines per bench phase, one per connection autocannon closed at its end).
        if (err.code === 'ECONNABORTED' || res.destroyed) return
        // Gone (a broken checkout): what express.static does, fall through to Remix (its 404).
        next(err.status === 404 ? undefined : err)
      }),
    )
  }
}

/** The express shell around the Remix build: static assets, optional simulator, then Remix. */
export function createHttpApp({ build, routers = [], bodyLimits }: HttpAppOptions): express.Express {
  const current = typeof build === 'function' ? build : () => build
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', parseServerEnv().TRUST_PROXY ? 1 : false)
  // Request id, one JSON log line and http_requests_total{route,status} per request, first, so requests refused by the shell are counted too.
  const development = current().mode === 'development'
  // Event streams are answered before express (decision 250): a stream keeps nothing of
  // express or of the per-request middleware below. The app is its own request handler
  // (`app.listen`, `http.createServer(app)`), so wrapping its `handle` covers every server.
  const streams = eventStreamHandler(app, current, staticSecurityHeaders({ development }))
  type Handle = (req: http.IncomingMessage, res: http.ServerResponse, next?: unknown) => void
  const handle = (app as unknown as { handle: Handle }).handle.bind(app)
  Object.assign(app, {
    handle: (req: http.IncomingMessage, res: http.ServerResponse, next?: unknown) =>
      isEventStreamRequest(req) ? void streams(req, res) : handle(req, res, next),
  })
  app.use(requestObservability(current()))
  app.use(cspNonce, securityHeaders({ development }))
  // gzip/brotli for what compresses (HTML, JSON, JS, CSS); SSE is flushed per event by its route.
  app.use(compression())
  mountPublicAssets(app)
  app.use(API_DOCS_ASSETS_PATH, apiDocsAssets())
  app.use(rejectCrossSite)
  // The simulator's routers (simulator mode, never production) parse with their own limits.
  for (const r of routers) app.use(r.path, r.router)
  app.use(apiMethodsFromBuild(current))
  app.all(
    '*',
    markRemix,
    limitRequestBody(bodyLimits ? () => bodyLimits : bootedBodyLimits),
    remixHandler(current, current().mode),
  )
  app.use(answerUnexpectedError)
  return app
}
