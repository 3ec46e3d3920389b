import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { ServerBuild } from '@remix-run/node'
import type { NextFunction, Request, Response } from 'express'
import type { Logger } from 'pino'
import { pinoHttp, type HttpLogger } from 'pino-http'

/**
 * Request logging (pino-http over the app's logger, so its redaction applies) and
 * `http_requests_total{route,status}` for the express shell.
 *
 * - Request id: a well-formed incoming `X-Request-Id` is kept, otherwise a UUID; echoed in the
 *   response header and in the log line.
 * - `route`: the id of the Remix route that matches the path (e.g. `routes/api.wa.qr.generate`),
 *   `static` / `simulator` for requests express answers itself, `unmatched` otherwise. Never the
 *   raw path, so the label set stays bounded whatever ids or nonces URLs carry.
 * - Logged once per request when the response finishes (or the client goes away): method,
 *   route, path (Green-API tokens redacted by the logger), status, duration, tenant (the
 *   X-Tenant the client named, when well-formed), request id. Never headers, query or body.
 * - The logger and metrics are the app's own (the composition root in the Remix build keeps
 *   them on globalThis); before boot nothing is logged or counted.
 */

export interface Observability {
  logger: Logger
  metrics: { httpRequests: { inc(labels: { route: string; status: string }): void } }
}

const SERVICES_KEY = Symbol.for('whatsapp-pro.services')

/** The booted composition root's logger and metrics, if any. */
export function appObservability(): Observability | undefined {
  const services = (globalThis as Record<symbol, unknown>)[SERVICES_KEY] as Partial<Observability> | undefined
  return services?.logger && services.metrics ? (services as Observability) : undefined
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/
const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/

interface CompiledRoute {
  id: string
  pattern: RegExp
  score: number
}

/** Remix route ids by URL path, from the build's route manifest (leaf-most, most specific wins). */
export function remixRouteMatcher(build: Pick<ServerBuild, 'routes'>): (pathname: string) => string | undefined {
  const routes = build.routes
  const fullPath = (id: string): string[] => {
    const segments: string[] = []
    for (let r = routes[id]; r; r = r.parentId ? routes[r.parentId] : undefined) {
      if (r.path) segments.unshift(...r.path.split('/').filter(Boolean))
    }
    return segments
  }
  const parents = new Set(Object.values(routes).map((r) => r?.parentId))
  const compiled: CompiledRoute[] = []
  for (const route of Object.values(routes)) {
    if (!route || route.id === 'root') continue
    // Leaves and index routes answer requests; a layout with children answers only its own path.
    const segments = fullPath(route.id)
    if (!route.path && !route.index) continue
    let score = route.index ? 1 : 0
    const parts = segments.map((s) => {
      if (s === '*') {
        score += 0
        return '(?:/.*)?'
      }
      const optional = s.endsWith('?')
      const seg = optional ? s.slice(0, -1) : s
      const body = seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      score += seg.startsWith(':') ? 3 : 10
      return optional ? `(?:/${body})?` : `/${body}`
    })
    if (parents.has(route.id) && !route.index) score -= 1
    compiled.push({ id: route.id, pattern: new RegExp(`^${parts.join('') || '/'}/?$`, route.caseSensitive ? '' : 'i'), score })
  }
  compiled.sort((a, b) => b.score - a.score)
  return (pathname) => compiled.find((r) => r.pattern.test(pathname))?.id
}

function fallbackRoute(pathname: string): string {
  if (pathname.startsWith('/dev/simulator') || pathname.startsWith('/__sim/')) return 'simulator'
  return 'static'
}

/** What one request's log line and counter say, computed once when it ends. */
interface RequestSummary {
  route: string
  status: number
  line: Record<string, unknown>
}

/** Express middleware: request id, one structured log line and one counter increment per request. */
export function requestObservability(
  build: Pick<ServerBuild, 'routes'>,
  observe: () => Observability | undefined = appObservability,
) {
  const match = remixRouteMatcher(build)
  const summaries = new WeakMap<Response, RequestSummary>()
  const summarize = (req: Request, res: Response): RequestSummary => {
    const known = summaries.get(res)
    if (known) return known
    const pathname = req.path
    const route = match(pathname) ?? (res.locals.remix ? 'unmatched' : fallbackRoute(pathname))
    // The client went away before an answer: nginx's 499.
    const status = res.headersSent ? res.statusCode : 499
    const tenant = req.get('x-tenant')
    const started = res.locals.startedAt as bigint
    const line = {
      method: req.method,
      route,
      path: pathname,
      status,
      durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
      ...(tenant && TENANT_ID.test(tenant) ? { tenant } : {}),
    }
    const summary = { route, status, line }
    summaries.set(res, summary)
    return summary
  }
  // One pino-http per app logger (the logger exists once the composition root is booted).
  let http: { logger: Logger; middleware: HttpLogger<Request, Response> } | undefined
  const logFor = (logger: Logger): HttpLogger<Request, Response> => {
    if (http?.logger !== logger) {
      const middleware = pinoHttp<Request, Response>({
        logger,
        genReqId: (req) => req.id,
        // Only `reqId` is bound: never the request's headers, query or body.
        quietReqLogger: true,
        quietResLogger: true,
        serializers: { req: () => undefined, res: () => undefined },
        wrapSerializers: false,
        customLogLevel: (req, res) => {
          const { route, status } = summarize(req, res)
          return status >= 500 ? 'error' : route === 'static' ? 'debug' : 'info'
        },
        customSuccessObject: (req, res) => summarize(req, res).line,
        customErrorObject: (req, res) => summarize(req, res).line,
        customSuccessMessage: () => 'request',
        customErrorMessage: () => 'request failed',
      })
      http = { logger, middleware }
    }
    return http.middleware
  }
  return (req: Request, res: Response, next: NextFunction): void => {
    res.locals.startedAt = process.hrtime.bigint()
    const incoming = req.get('x-request-id')
    req.id = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    res.setHeader('X-Request-Id', req.id)
    const o = observe()
    if (!o) return next()
    let counted = false
    const count = () => {
      if (counted) return
      counted = true
      const { route, status } = summarize(req, res)
      o.metrics.httpRequests.inc({ route, status: String(status) })
    }
    res.once('finish', count)
    res.once('close', count)
    logFor(o.logger)(req, res, next)
  }
}

/**
 * The same request id, log line and counter as `requestObservability`, for a request the shell
 * answers before that middleware (the event streams, decision 250): one `close` listener, no
 * pino-http child logger, no summaries map entry, nothing else kept on the request or response
 * while a long-lived stream is open. Returns the request id (for the X-Request-Id header).
 */
export function observeRequest(
  req: Pick<Request, 'headers' | 'method' | 'path'>,
  res: Pick<ServerResponse, 'on' | 'headersSent' | 'statusCode'>,
  route: string,
  observe: () => Observability | undefined = appObservability,
): string {
  const incoming = req.headers['x-request-id']
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
  const o = observe()
  if (!o) return id
  const started = process.hrtime.bigint()
  const tenant = req.headers['x-tenant']
  const method = req.method
  const pathname = req.path
  res.on('close', () => observed(o, { id, route, method, pathname, started, tenant, res }))
  return id
}

/** The log line and counter of one request observed by `observeRequest`, once it closed. */
function observed(
  o: Observability,
  r: {
    id: string
    route: string
    method: string
    pathname: string
    started: bigint
    tenant: unknown
    res: Pick<ServerResponse, 'headersSent' | 'statusCode'>
  },
): void {
  const status = r.res.headersSent ? r.res.statusCode : 499
  o.metrics.httpRequests.inc({ route: r.route, status: String(status) })
  const line = {
    reqId: r.id,
    method: r.method,
    route: r.route,
    path: r.pathname,
    status,
    durationMs: Math.round(Number(process.hrtime.bigint() - r.started) / 1e4) / 100,
    ...(typeof r.tenant === 'string' && TENANT_ID.test(r.tenant) ? { tenant: r.tenant } : {}),
  }
  if (status >= 500) o.logger.error(line, 'request failed')
  else o.logger.info(line, 'request')
}

/** Marks requests that reached Remix (so an unknown path is `unmatched`, not `static`). */
export function markRemix(_req: Request, res: Response, next: NextFunction): void {
  res.locals.remix = true
  next()
}
