import { json } from '@remix-run/node'
import { describePgError, isDatabaseUnavailable } from '../../adapters/postgres/pg-errors'
import { getServices } from '../services.server'
import { DATABASE_RETRY_AFTER_SECONDS } from './http-errors.server'
import { t } from './i18n'
import { getLang } from './lang.server'

/**
 * The page path of "PostgreSQL is unavailable" (decision 095). A page loader or action that
 * fails because the database is down, frozen or out of connections reaches Remix's
 * `handleError` (app/entry.server.tsx) before the response is rendered: the request is marked
 * here, and the document becomes a 503 "temporarily unavailable" page (a data request: a 503
 * the root ErrorBoundary shows the same way) instead of the error page. API routes map the same
 * errors in `apiHandler`.
 */
const unavailable = new WeakSet<Request>()

/** True (and the request marked, one warn line logged) when `error` means the database is unavailable. */
export function noteDatabaseUnavailable(request: Request, error: unknown): boolean {
  const cause = (error as { error?: unknown } | null)?.error ?? error // ErrorResponse wraps thrown errors
  if (!isDatabaseUnavailable(cause)) return false
  unavailable.add(request)
  getServices().logger.warn(
    { err: describePgError(cause), path: new URL(request.url).pathname.slice(0, 200) },
    'database unavailable',
  )
  return true
}

export function wasDatabaseUnavailable(request: Request): boolean {
  return unavailable.has(request)
}

const headers = () => ({ 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS), 'Cache-Control': 'no-store' })

/** The texts the page (and the root ErrorBoundary after a client-side navigation) shows. */
export async function unavailableTexts(
  request: Request,
): Promise<{ unavailable: true; lang: 'fr' | 'en'; title: string; body: string; retry: string }> {
  const lang = await getLang(request)
  return {
    unavailable: true,
    lang,
    title: t(lang, 'page.unavailable.title'),
    body: t(lang, 'page.unavailable.body'),
    retry: t(lang, 'page.unavailable.retry'),
  }
}

/** `?_data=` requests: a caught 503 (X-Remix-Catch), so the client shows the boundary's 503 view. */
export async function unavailableDataResponse(request: Request): Promise<Response> {
  return json(await unavailableTexts(request), { status: 503, headers: { ...headers(), 'X-Remix-Catch': 'yes' } })
}

/** Document requests: a small static page (no scripts: the app cannot work until the database is back). */
export function unavailableDocument(request: Request, html: string): Response {
  return new Response(`<!DOCTYPE html>${html}`, {
    status: 503,
    headers: {
      ...headers(),
      'Content-Type': 'text/html; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
    },
  })
}
