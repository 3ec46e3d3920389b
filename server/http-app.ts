import path from 'node:path'
import { createRequestHandler } from '@remix-run/express'
import type { ServerBuild } from '@remix-run/node'
import compression from 'compression'
import express, { type Router } from 'express'
import { markRemix, requestObservability } from './observability'
import { projectRoot } from './runtime'
import { cspNonce, securityHeaders } from './security-headers'

export interface HttpAppOptions {
  /** The Remix build, or (`npm run dev`) a getter for the latest one, re-imported after each rebuild. */
  build: ServerBuild | (() => ServerBuild)
  /** Extra routers mounted before Remix (the Green-API simulator in simulator mode). */
  routers?: Array<{ path: string; router: Router }>
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * CSRF backstop for cookie-authenticated mutations, before Remix sees them: an unsafe request
 * without a Bearer token whose Origin (or Sec-Fetch-Site) says cross-site is refused with 403.
 * Bearer-authenticated API calls and server-to-server webhooks (no Origin) are not affected;
 * the guards check the same rule again for cookie sessions.
 */
export function rejectCrossSite(req: express.Request, res: express.Response, next: express.NextFunction): void {
  if (SAFE_METHODS.has(req.method) || /^Bearer\s/i.test(req.get('authorization') ?? '')) return next()
  const origin = req.get('origin')
  const fetchSite = req.get('sec-fetch-site')
  const expected = process.env.PUBLIC_URL ? new URL(process.env.PUBLIC_URL).origin : `${req.protocol}://${req.get('host')}`
  const crossSite = (origin !== undefined && origin !== 'null' && origin !== expected) || origin === 'null' || fetchSite === 'cross-site'
  if (!crossSite) return next()
  const body = { ok: false, error: 'CSRF_REJECTED', message: 'Cross-site request refused' }
  const wantsJson = req.path.startsWith('/api/') || req.query._data !== undefined || !req.accepts('html')
  if (wantsJson) res.status(403).set('Cache-Control', 'no-store').json(body)
  else res.status(403).type('text/plain').send('Cross-site request refused (403)')
}

/** The express shell around the Remix build: static assets, optional simulator, then Remix. */
export function createHttpApp({ build, routers = [] }: HttpAppOptions): express.Express {
  const current = typeof build === 'function' ? build : () => build
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', process.env.TRUST_PROXY === '1' ? 1 : false)
  // Request id, one JSON log line and http_requests_total{route,status} per request (issue 9).
  app.use(requestObservability(current()))
  app.use(cspNonce, securityHeaders({ development: current().mode === 'development' }))
  // gzip/brotli for what compresses (HTML, JSON, JS, CSS); SSE is flushed per event by its route.
  app.use(compression())
  app.use(
    '/build',
    express.static(path.join(projectRoot, 'public/build'), { immutable: true, maxAge: '1y', index: false }),
  )
  app.use(express.static(path.join(projectRoot, 'public'), { maxAge: '1h', index: false }))
  app.use(rejectCrossSite)
  for (const r of routers) app.use(r.path, r.router)
  // The client address for audit entries and per-IP login throttling (`context.ip` in loaders).
  app.all('*', markRemix, createRequestHandler({ build: typeof build === 'function' ? async () => build() : build, mode: current().mode, getLoadContext: (req, res) => ({ ip: req.ip ?? null, cspNonce: res.locals.cspNonce as string }) }))
  return app
}
