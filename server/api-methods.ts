import type { ServerBuild } from '@remix-run/node'
import type { NextFunction, Request, Response } from 'express'
import { edgeText } from './edge-texts'
import { remixRouteMatcher } from './observability'

/**
 * `/api/*` answers the wrong verb with the envelope, before Remix. Remix itself
 * answers a POST on a loader-only route with `405 {"message":"Unexpected Server Error"}` and no
 * `Allow`, and logs a stack trace. The route's module says which verbs it serves: a loader serves
 * GET and HEAD, an action POST (the API has no other verbs), so a POST-only route simply has no
 * loader.
 */
export function apiMethodsFromBuild(build: () => Pick<ServerBuild, 'routes'>) {
  let matcher: { build: unknown; match: (pathname: string) => string | undefined } | undefined
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!req.path.startsWith('/api/')) return next()
    const current = build()
    if (matcher?.build !== current) matcher = { build: current, match: remixRouteMatcher(current) }
    const id = matcher.match(req.path)
    const module = id
      ? (current.routes[id]?.module as { loader?: unknown; action?: unknown; actionMethods?: unknown } | undefined)
      : undefined
    if (!module) return next()
    const allow = [...(module.loader ? ['GET', 'HEAD'] : []), ...(module.action ? actionMethodsOf(module) : [])]
    if (allow.includes(req.method)) return next()
    const body = {
      ok: false,
      error: 'METHOD_NOT_ALLOWED',
      message: edgeText(req.headers, 'api.methodNotAllowed', { allow: allow.join(', ') }),
    }
    res
      .status(405)
      .set({ Allow: allow.join(', '), 'Cache-Control': 'no-store' })
      .json(body)
  }
}

/** The verbs a route's action serves: its `actionMethods` export, else POST. */
export function actionMethodsOf(module: { actionMethods?: unknown }): string[] {
  const declared = module.actionMethods
  return Array.isArray(declared) && declared.every((m) => typeof m === 'string') ? declared.map((m) => m.toUpperCase()) : ['POST']
}
