import { randomUUID } from 'node:crypto'
import type { ServerBuild } from '@remix-run/node'
import type { NextFunction, Request, Response } from 'express'

/**
 * Request logging and `http_requests_total{route,status}` for the express shell.
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

interface RequestLogger {
  info(obj: Record<string, unknown>, msg?: string): void
  debug(obj: Record<string, unknown>, msg?: string): void
  error(obj: Record<string, unknown>, msg?: string): void
}

export interface Observability {
  logger: RequestLogger
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

/** Express middleware: request id, one structured log line and one counter increment per request. */
export function requestObservability(build: Pick<ServerBuild, 'routes'>, observe: () => Observability | undefined = appObservability) {
  const match = remixRouteMatcher(build)
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint()
    const incoming = req.get('x-request-id')
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    res.setHeader('X-Request-Id', requestId)
    const pathname = req.path
    let done = false
    const finish = () => {
      if (done) return
      done = true
      const o = observe()
      if (!o) return
      const route = match(pathname) ?? (res.locals.remix ? 'unmatched' : fallbackRoute(pathname))
      const status = res.headersSent ? res.statusCode : 499
      const tenant = req.get('x-tenant')
      const line = {
        reqId: requestId,
        method: req.method,
        route,
        path: pathname,
        status,
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        ...(tenant && TENANT_ID.test(tenant) ? { tenant } : {}),
      }
      o.metrics.httpRequests.inc({ route, status: String(status) })
      if (status >= 500) o.logger.error(line, 'request failed')
      else if (route === 'static') o.logger.debug(line, 'request')
      else o.logger.info(line, 'request')
    }
    res.once('finish', finish)
    res.once('close', finish)
    next()
  }
}

/** Marks requests that reached Remix (so an unknown path is `unmatched`, not `static`). */
export function markRemix(_req: Request, res: Response, next: NextFunction): void {
  res.locals.remix = true
  next()
}
