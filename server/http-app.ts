import path from 'node:path'
import { createRequestHandler } from '@remix-run/express'
import type { ServerBuild } from '@remix-run/node'
import express, { type Router } from 'express'
import { projectRoot } from './runtime'

export interface HttpAppOptions {
  build: ServerBuild
  /** Extra routers mounted before Remix (the Green-API simulator in simulator mode). */
  routers?: Array<{ path: string; router: Router }>
}

/** The express shell around the Remix build: static assets, optional simulator, then Remix. */
export function createHttpApp({ build, routers = [] }: HttpAppOptions): express.Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', process.env.TRUST_PROXY === '1' ? 1 : false)
  app.use(
    '/build',
    express.static(path.join(projectRoot, 'public/build'), { immutable: true, maxAge: '1y', index: false }),
  )
  app.use(express.static(path.join(projectRoot, 'public'), { maxAge: '1h', index: false }))
  for (const r of routers) app.use(r.path, r.router)
  // The client address for audit entries and per-IP login throttling (`context.ip` in loaders).
  app.all('*', createRequestHandler({ build, mode: build.mode, getLoadContext: (req) => ({ ip: req.ip ?? null }) }))
  return app
}
