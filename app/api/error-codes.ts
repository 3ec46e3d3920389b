/**
 * Every `error` code an envelope `{"ok":false,"error":CODE,"message":…}` can carry, from the
 * Remix routes (app/) and the express shell (server/). The OpenAPI document's `Error.error` is
 * this enum (app/api/schemas.ts), so a client generator gets a closed union; domain errors reach
 * it through the one table in app/utils/http-errors.server.ts, whose `apiCode` is typed by it.
 * tests/integration/api-error-codes.test.ts fails when a code is written anywhere without being
 * listed here.
 *
 * Plain constants, no server imports: the settings page's browser bundle uses the type.
 */
export const API_ERROR_CODES = [
  // Who is calling (guards, app/utils/http-errors.server.ts; the metrics token)
  'UNAUTHENTICATED',
  'TENANT_FORBIDDEN',
  'FORBIDDEN_ROLE',
  'CSRF_REJECTED',
  // The request itself (readJsonBody, server/body-limit.ts, server/api-methods.ts, api.$.ts)
  'VALIDATION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'METHOD_NOT_ALLOWED',
  'NOT_FOUND',
  // Domain errors (the table's apiCode values)
  'WHATSAPP_DISABLED',
  'NOT_CONNECTED',
  'ALREADY_CONNECTED',
  'INSTANCE_BUSY',
  'NO_INSTANCE_AVAILABLE',
  'RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
  'CREDENTIALS_UNREADABLE',
  'WEBHOOK_UNAUTHORIZED',
  'IDEMPOTENCY_CONFLICT',
  'WEBHOOK_URL_REFUSED',
  // Reboot and remove (decisions 210–211)
  'REBOOT_NOT_NEEDED',
  'PARTNER_MODE_ONLY',
  'WRONG_NUMBER',
  // Anything else, without detail (apiHandler, server/http-app.ts)
  'INTERNAL',
] as const

export type ApiErrorCode = (typeof API_ERROR_CODES)[number]
