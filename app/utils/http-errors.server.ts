import { json } from '@remix-run/node'
import { z } from 'zod'
import { API_ERROR_CODES, type ApiErrorCode } from '../api/error-codes'
import type { DomainError, DomainErrorCode, DomainIssue } from '../../domain/whatsapp'
import { hasMessage, t, type Lang, type MessageKey } from './i18n'
import { inSecondsWords, monthlyPrice } from './words'

/**
 * The one place that builds API error bodies: {"ok":false,"error":CODE,"message":text, ...extra}.
 * Domain errors are mapped by `code` through DOMAIN_ERRORS below (the API's `apiHandler` and the
 * settings page action both use it); nothing else writes envelopes.
 */
export { API_ERROR_CODES, type ApiErrorCode }

export interface ApiErrorBody {
  ok: false
  error: ApiErrorCode
  message: string
  [extra: string]: unknown
}

export function errorResponse(
  status: number,
  error: ApiErrorCode,
  message: string,
  init: { headers?: Record<string, string>; extra?: Record<string, unknown> } = {},
): Response {
  const body: ApiErrorBody = { ok: false, error, message, ...init.extra }
  return json(body, { status, headers: { 'Cache-Control': 'no-store', ...init.headers } })
}

/** What a 503 for an unavailable database tells clients to wait (a restart or failover takes seconds). */
export const DATABASE_RETRY_AFTER_SECONDS = 5

export const unauthenticated = (message?: string) =>
  message === undefined
    ? localizedError(401, 'UNAUTHENTICATED', 'api.auth.required', { headers: { 'WWW-Authenticate': 'Bearer' } })
    : errorResponse(401, 'UNAUTHENTICATED', message, { headers: { 'WWW-Authenticate': 'Bearer' } })

export const tenantForbidden = () => localizedError(403, 'TENANT_FORBIDDEN', 'api.auth.tenantForbidden')

export const forbiddenRole = () => localizedError(403, 'FORBIDDEN_ROLE', 'api.auth.forbiddenRole')

export const validationFailed = (message: string, issues: Array<{ path: string; message: string }> = []) =>
  errorResponse(400, 'VALIDATION_FAILED', message, { extra: { issues } })

export const csrfRejected = () =>
  localizedError(403, 'CSRF_REJECTED', 'api.auth.csrf', { headers: { Vary: 'Origin, Sec-Fetch-Site' } })

// ---------------------------------------------------------------------------------------------
// Domain error → HTTP: the one table (docs/api.md#errors; docs/decisions/105-errors-one-table.md).

/** Seconds a client is told to wait when an error names no delay of its own. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5

export interface DomainErrorEntry {
  status: number
  /** The envelope's `error` (the page's `code`): what clients match on. */
  apiCode: ApiErrorCode
  /**
   * The human message, in the caller's language: `{when}` is the Retry-After value in words
   * ("dans 59 min"), `{seconds}` the number, `{price}` the add-on's monthly price.
   */
  messageKey: MessageKey
  /**
   * `Retry-After`: `'error'` = the error's own `retryAfterSeconds` (else the default), a number =
   * fixed (an operator has to act first: a minute, not a retry storm). Absent: no header.
   */
  retryAfter?: 'error' | number
  /** Fields added to the API body. */
  extra?: Record<string, unknown>
}

/**
 * `satisfies Record<DomainErrorCode, …>`: a new domain error code does not type-check until it
 * has a row here, instead of falling through to a 500 at run time.
 */
export const DOMAIN_ERRORS = {
  WHATSAPP_DISABLED: {
    status: 403,
    apiCode: 'WHATSAPP_DISABLED',
    messageKey: 'api.whatsappDisabled',
    extra: { upgrade_required: true },
  },
  NOT_CONNECTED: { status: 409, apiCode: 'NOT_CONNECTED', messageKey: 'api.notConnected' },
  ALREADY_CONNECTED: { status: 409, apiCode: 'ALREADY_CONNECTED', messageKey: 'api.alreadyConnected' },
  INSTANCE_BUSY: { status: 409, apiCode: 'INSTANCE_BUSY', messageKey: 'api.instanceBusy' },
  NO_INSTANCE_AVAILABLE: { status: 409, apiCode: 'NO_INSTANCE_AVAILABLE', messageKey: 'api.noInstance' },
  // The attempt ran out: for a client the same conflict as "not connected" (docs/api.md#errors has
  // no code of its own), with its own text.
  LINK_EXPIRED: { status: 409, apiCode: 'NOT_CONNECTED', messageKey: 'api.linkExpired' },
  RATE_LIMITED: { status: 429, apiCode: 'RATE_LIMITED', messageKey: 'api.rateLimited', retryAfter: 'error' },
  UPSTREAM_UNAVAILABLE: { status: 503, apiCode: 'UPSTREAM_UNAVAILABLE', messageKey: 'api.upstream', retryAfter: 'error' },
  // Green-API answered but refused the instance's credentials: a bad gateway (502), not an
  // outage; the same code as other upstream failures, a text that says to contact support.
  UPSTREAM_AUTH: { status: 502, apiCode: 'UPSTREAM_UNAVAILABLE', messageKey: 'api.upstreamAuth', retryAfter: 60 },
  // A key missing from this process's ring (rotation ran elsewhere) or a tampered row: an
  // operator problem, logged at error level by the domain; not "link your number first".
  CREDENTIALS_UNREADABLE: {
    status: 503,
    apiCode: 'CREDENTIALS_UNREADABLE',
    messageKey: 'api.credentialsUnreadable',
    retryAfter: 60,
  },
  VALIDATION_FAILED: { status: 400, apiCode: 'VALIDATION_FAILED', messageKey: 'api.validation' },
  WEBHOOK_UNAUTHORIZED: { status: 401, apiCode: 'WEBHOOK_UNAUTHORIZED', messageKey: 'api.webhookUnauthorized' },
  IDEMPOTENCY_CONFLICT: { status: 409, apiCode: 'IDEMPOTENCY_CONFLICT', messageKey: 'api.idempotencyConflict' },
  // Another tenant's message is answered exactly like a missing one.
  MESSAGE_NOT_FOUND: { status: 404, apiCode: 'NOT_FOUND', messageKey: 'api.messageNotFound' },
  // Another tenant's endpoint or delivery answers exactly like a missing one.
  WEBHOOK_ENDPOINT_NOT_FOUND: { status: 404, apiCode: 'NOT_FOUND', messageKey: 'api.webhookEndpointNotFound' },
  // The CRM endpoint URL breaks the target policy; `issues` says which rule.
  WEBHOOK_URL_REFUSED: { status: 400, apiCode: 'WEBHOOK_URL_REFUSED', messageKey: 'api.webhookUrlRefused' },
  // Reboot and remove (decisions 210–211): the instance is not in a state or mode that allows it.
  REBOOT_NOT_NEEDED: { status: 409, apiCode: 'REBOOT_NOT_NEEDED', messageKey: 'api.rebootNotNeeded' },
  PARTNER_MODE_ONLY: { status: 409, apiCode: 'PARTNER_MODE_ONLY', messageKey: 'api.partnerModeOnly' },
  // The right phone (decision 200): another phone than the expected one was already linked; it
  // was logged out. A conflict, like ALREADY_CONNECTED, with its own code.
  WRONG_NUMBER: { status: 409, apiCode: 'WRONG_NUMBER', messageKey: 'api.wrongNumber' },
  // No picture, or another tenant's: the same 404 (decision 240).
  PROFILE_PICTURE_NOT_FOUND: { status: 404, apiCode: 'NOT_FOUND', messageKey: 'api.profilePictureNotFound' },
} as const satisfies Record<DomainErrorCode, DomainErrorEntry>

/** A domain error as both surfaces answer it: status, code, text, wait. */
export interface MappedDomainError {
  status: number
  code: ApiErrorCode
  message: string
  /** Whole seconds, when the answer carries `Retry-After`. */
  retryAfter?: number
  headers: Record<string, string>
  extra: Record<string, unknown>
}

export function mapDomainError(
  err: Pick<DomainError, 'code' | 'retryAfterSeconds'> & { issues?: unknown },
  lang: Lang,
): MappedDomainError {
  const entry: DomainErrorEntry = DOMAIN_ERRORS[err.code]
  const retryAfter =
    entry.retryAfter === undefined
      ? undefined
      : entry.retryAfter === 'error'
        ? Math.max(1, Math.ceil(err.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS))
        : entry.retryAfter
  const extra: Record<string, unknown> = { ...entry.extra }
  if (err.code === 'VALIDATION_FAILED' || err.code === 'WEBHOOK_URL_REFUSED')
    extra.issues = domainIssuesIn(lang, Array.isArray(err.issues) ? (err.issues as DomainIssue[]) : [])
  return {
    status: entry.status,
    code: entry.apiCode,
    message: messageOf(lang, entry.messageKey, retryAfter ?? DEFAULT_RETRY_AFTER_SECONDS),
    ...(retryAfter === undefined ? {} : { retryAfter }),
    headers: retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) },
    extra,
  }
}

/** The domain's issues in `lang`: each `code` is the text `api.issue.<code>` (decision 256), else its English `message`. */
function domainIssuesIn(lang: Lang, issues: readonly DomainIssue[]): Array<{ path: string; message: string }> {
  return issues.map((issue) => {
    const key = `api.issue.${issue.code ?? ''}`
    return { path: issue.path, message: issue.code && hasMessage(lang, key) ? t(lang, key, issue.vars) : issue.message }
  })
}

/** A table text with its variables: the wait in words and the price as the language writes them. */
function messageOf(lang: Lang, key: MessageKey, seconds: number): string {
  return t(lang, key, { seconds, when: inSecondsWords(lang, seconds), price: monthlyPrice(lang) })
}

/** The API envelope of a domain error. */
export function domainErrorResponse(err: Parameters<typeof mapDomainError>[0], lang: Lang): Response {
  const mapped = mapDomainError(err, lang)
  return errorResponse(mapped.status, mapped.code, mapped.message, { headers: mapped.headers, extra: mapped.extra })
}

// ---------------------------------------------------------------------------------------------
// One language per answer (docs/decisions/222-api-texts-one-language.md). The envelopes built
// below are written in French (the default) and remember how they were made; `apiHandler`
// rewrites a thrown one in the request's language (`inLanguage`), so guards and body parsing
// need not know the language, and an answer never mixes French with zod's English.

/** A field's problem: an i18n key, or a zod issue (translated by zod's own locale for codes we give no text). */
export type IssueInput = KeyedIssue | z.core.$ZodIssue
interface KeyedIssue {
  path: string
  key: MessageKey
  vars?: Record<string, string | number>
}
const isKeyed = (issue: IssueInput): issue is KeyedIssue => typeof issue.path === 'string' && 'key' in issue

const ZOD_LOCALES = { fr: z.locales.fr(), en: z.locales.en() } as const

/** One issue per field (the first one zod or the route found), in `lang`. */
export function issuesIn(lang: Lang, issues: readonly IssueInput[]): Array<{ path: string; message: string }> {
  const seen = new Set<string>()
  const out: Array<{ path: string; message: string }> = []
  for (const issue of issues) {
    const path = typeof issue.path === 'string' ? issue.path : issue.path.map(String).join('.')
    if (seen.has(path)) continue
    seen.add(path)
    out.push({ path, message: issueText(lang, issue) })
  }
  return out
}

function issueText(lang: Lang, issue: IssueInput): string {
  if (isKeyed(issue)) return t(lang, issue.key, issue.vars)
  // Our schemas name their texts by key; zod's defaults come from zod's locale of `lang`.
  if (hasMessage(lang, issue.message)) return t(lang, issue.message)
  if (issue.code === 'custom') return t(lang, 'api.issue.invalid')
  const text = ZOD_LOCALES[lang].localeError(issue as never)
  return typeof text === 'string' ? text : (text?.message ?? t(lang, 'api.issue.invalid'))
}

const rewrites = new WeakMap<Response, (lang: Lang) => Response>()

/** An envelope whose `message` (and `issues`) follow the language `apiHandler` finds. */
export function localizedError(
  status: number,
  error: ApiErrorCode,
  key: MessageKey,
  init: {
    vars?: Record<string, string | number>
    headers?: Record<string, string>
    extra?: Record<string, unknown>
    issues?: readonly IssueInput[]
  } = {},
): Response {
  const build = (lang: Lang) =>
    errorResponse(status, error, t(lang, key, init.vars), {
      ...(init.headers ? { headers: init.headers } : {}),
      extra: { ...init.extra, ...(init.issues ? { issues: issuesIn(lang, init.issues) } : {}) },
    })
  const response = build('fr')
  rewrites.set(response, build)
  return response
}

/** The same envelope in `lang` (other Responses pass through unchanged). */
export function inLanguage(response: Response, lang: Lang): Response {
  const rebuild = rewrites.get(response)
  return rebuild && lang !== 'fr' ? rebuild(lang) : response
}

/** 400 VALIDATION_FAILED with one issue per field. */
export const invalidRequest = (key: MessageKey, issues: readonly IssueInput[] = [], vars?: Record<string, string | number>) =>
  localizedError(400, 'VALIDATION_FAILED', key, { issues, ...(vars ? { vars } : {}) })
