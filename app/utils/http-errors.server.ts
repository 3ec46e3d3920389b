import { json } from '@remix-run/node'
import { API_ERROR_CODES, type ApiErrorCode } from '../api/error-codes'
import type { DomainError, DomainErrorCode } from '../../domain/whatsapp'
import { t, type Lang, type MessageKey } from './i18n'

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

export const unauthenticated = (message = 'Authentication required') =>
  errorResponse(401, 'UNAUTHENTICATED', message, { headers: { 'WWW-Authenticate': 'Bearer' } })

export const tenantForbidden = () => errorResponse(403, 'TENANT_FORBIDDEN', 'You are not a member of this tenant')

export const forbiddenRole = () => errorResponse(403, 'FORBIDDEN_ROLE', 'Only owners and admins can do this')

export const validationFailed = (message: string, issues: Array<{ path: string; message: string }> = []) =>
  errorResponse(400, 'VALIDATION_FAILED', message, { extra: { issues } })

export const csrfRejected = () =>
  errorResponse(403, 'CSRF_REJECTED', 'Cross-site request rejected', { headers: { Vary: 'Origin, Sec-Fetch-Site' } })

// ---------------------------------------------------------------------------------------------
// Domain error → HTTP: the one table (docs/api.md#errors; docs/decisions/105-errors-one-table.md).

/** Seconds a client is told to wait when an error names no delay of its own. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5

export interface DomainErrorEntry {
  status: number
  /** The envelope's `error` (the page's `code`): what clients match on. */
  apiCode: ApiErrorCode
  /** The human message, in the caller's language (`{seconds}` is the Retry-After value). */
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
  // The right phone (decision 200): another phone than the expected one was already linked; it
  // was logged out. A conflict, like ALREADY_CONNECTED, with its own code.
  WRONG_NUMBER: { status: 409, apiCode: 'WRONG_NUMBER', messageKey: 'api.wrongNumber' },
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
    extra.issues = Array.isArray(err.issues) ? err.issues : []
  return {
    status: entry.status,
    code: entry.apiCode,
    message: t(lang, entry.messageKey, { seconds: retryAfter ?? DEFAULT_RETRY_AFTER_SECONDS }),
    ...(retryAfter === undefined ? {} : { retryAfter }),
    headers: retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) },
    extra,
  }
}

/** The API envelope of a domain error. */
export function domainErrorResponse(err: Parameters<typeof mapDomainError>[0], lang: Lang): Response {
  const mapped = mapDomainError(err, lang)
  return errorResponse(mapped.status, mapped.code, mapped.message, { headers: mapped.headers, extra: mapped.extra })
}
