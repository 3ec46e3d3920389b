import { json } from '@remix-run/node'

/**
 * The one place that builds API error bodies: {"ok":false,"error":CODE,"message":text, ...extra}.
 * Domain errors are mapped by `code` (see domainErrorResponse); nothing else writes envelopes.
 */
export type ApiErrorCode =
  | 'UNAUTHENTICATED'
  | 'TENANT_FORBIDDEN'
  | 'FORBIDDEN_ROLE'
  | 'CSRF_REJECTED'
  | 'WHATSAPP_DISABLED'
  | 'VALIDATION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_FOUND'
  | 'NOT_CONNECTED'
  | 'ALREADY_CONNECTED'
  | 'INSTANCE_BUSY'
  | 'NO_INSTANCE_AVAILABLE'
  | 'RATE_LIMITED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'CREDENTIALS_UNREADABLE'
  | 'WEBHOOK_UNAUTHORIZED'
  | 'INTERNAL'

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

export const tenantForbidden = () =>
  errorResponse(403, 'TENANT_FORBIDDEN', 'You are not a member of this tenant')

export const forbiddenRole = () =>
  errorResponse(403, 'FORBIDDEN_ROLE', 'Only owners and admins can do this')

export const validationFailed = (message: string, issues: Array<{ path: string; message: string }> = []) =>
  errorResponse(400, 'VALIDATION_FAILED', message, { extra: { issues } })

export const csrfRejected = () =>
  errorResponse(403, 'CSRF_REJECTED', 'Cross-site request rejected', { headers: { Vary: 'Origin, Sec-Fetch-Site' } })
