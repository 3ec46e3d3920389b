import { json } from '@remix-run/node'
import type { z } from 'zod'
import { describePgError, isDatabaseUnavailable } from '../../adapters/postgres/pg-errors'
import type { DomainError } from '../../domain/whatsapp'
import {
  DATABASE_RETRY_AFTER_SECONDS,
  DOMAIN_ERRORS,
  domainErrorResponse,
  errorResponse,
  inLanguage,
  invalidRequest,
  localizedError,
} from './http-errors.server'
import { t, type Lang, type MessageKey } from './i18n'
import { getLang } from './lang.server'
import { inSecondsWords } from './words'

/**
 * `schema.safeParse` whose failure is the 400 envelope `key` with one issue per field, in the
 * request's language once `apiHandler` answers (zod's own texts through zod's locale).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, key: MessageKey): z.infer<S> {
  // reportInput: zod's texts say what was received ("string received"); only texts leave here.
  const parsed = schema.safeParse(value, { reportInput: true })
  if (!parsed.success) throw invalidRequest(key, parsed.error.issues)
  return parsed.data
}

/**
 * Reads a JSON body and parses it with `schema`. No body (or `{}`) is fine for routes without
 * input; invalid JSON, non-object JSON or a non-JSON content type with a body throw a 400 (415)
 * envelope (docs/api.md#errors). The size is not checked here: the express shell's body limit
 * (server/body-limit.ts, `BODY_LIMIT_*_BYTES`) refused an oversized body with 413 before Remix.
 */
export async function readJsonBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  const raw = await request.text()
  let value: unknown = {}
  if (raw.trim().length > 0) {
    const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== 'application/json' && !type.endsWith('+json')) {
      throw localizedError(415, 'VALIDATION_FAILED', 'api.body.contentType', { issues: [] })
    }
    try {
      value = JSON.parse(raw)
    } catch {
      throw invalidRequest('api.body.notJson')
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw invalidRequest('api.body.notObject')
    }
  }
  return parseOrThrow(schema, value, 'api.body.invalid')
}

/** By name and `code`, like `isDomainError`: a second copy of the domain module (dev reloads) still counts. */
function isDomainLike(e: unknown): e is DomainError {
  return (
    e instanceof Error &&
    e.name === 'DomainError' &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (e as unknown as { code: string }).code in DOMAIN_ERRORS
  )
}

type Logger = { error(obj: Record<string, unknown>, msg: string): void; warn(obj: Record<string, unknown>, msg: string): void }

/** 503 UPSTREAM_UNAVAILABLE + Retry-After: PostgreSQL is unreachable, shutting down or timed out. */
export function databaseUnavailable(lang: Lang): Response {
  return errorResponse(
    503,
    'UPSTREAM_UNAVAILABLE',
    t(lang, 'api.databaseUnavailable', {
      seconds: DATABASE_RETRY_AFTER_SECONDS,
      when: inSecondsWords(lang, DATABASE_RETRY_AFTER_SECONDS),
    }),
    {
      headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
    },
  )
}

/**
 * Runs an API handler: thrown Responses (guards, validation) pass through, domain errors map
 * by code, a database that is down or too slow becomes a 503 envelope (decision 095), anything else becomes a 500 envelope without stack or detail (logged by name only).
 */
export async function apiHandler(request: Request, logger: Logger, fn: (lang: Lang) => Promise<Response>): Promise<Response> {
  const lang = await getLang(request)
  try {
    return await fn(lang)
  } catch (e) {
    // Guards and body parsing throw French envelopes: answer in the request's language.
    if (e instanceof Response) return inLanguage(e, lang)
    if (isDomainLike(e)) return domainErrorResponse(e, lang)
    if (isDatabaseUnavailable(e)) {
      // Stopped, frozen, failing over or out of connections: a retryable 503, not a bug.
      logger.warn({ err: describePgError(e) }, 'database unavailable')
      return databaseUnavailable(lang)
    }
    logger.error({ err: e instanceof Error ? { name: e.name, message: e.message } : String(e) }, 'unhandled API error')
    return errorResponse(500, 'INTERNAL', t(lang, 'api.internal'))
  }
}

export function ok<T extends Record<string, unknown>>(body: T, init: ResponseInit = {}): Response {
  return json(body, { ...init, headers: { 'Cache-Control': 'no-store', ...(init.headers as Record<string, string>) } })
}
