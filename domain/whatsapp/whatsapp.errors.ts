/**
 * Domain errors with stable codes. Only `app/utils/http-errors.server.ts` maps them to HTTP.
 * Messages are for operators and logs: never put a credential, token or ciphertext in them.
 * Match on `code` (not `instanceof`) at the edge.
 */
export type DomainErrorCode =
  | 'WHATSAPP_DISABLED'
  | 'NOT_CONNECTED'
  | 'ALREADY_CONNECTED'
  | 'INSTANCE_BUSY'
  | 'NO_INSTANCE_AVAILABLE'
  | 'RATE_LIMITED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_AUTH'
  | 'CREDENTIALS_UNREADABLE'
  | 'VALIDATION_FAILED'
  | 'LINK_EXPIRED'
  | 'WEBHOOK_UNAUTHORIZED'
  | 'IDEMPOTENCY_CONFLICT'
  | 'MESSAGE_NOT_FOUND'
  | 'WEBHOOK_ENDPOINT_NOT_FOUND'
  | 'WEBHOOK_URL_REFUSED'
  // Reboot and remove (issue #16, decisions 210–211)
  | 'REBOOT_NOT_NEEDED'
  | 'PARTNER_MODE_ONLY'
  | 'WRONG_NUMBER'
  // The linked account's profile (decision 240)
  | 'PROFILE_PICTURE_NOT_FOUND'

export class DomainError extends Error {
  readonly code: DomainErrorCode
  readonly retryAfterSeconds?: number
  constructor(code: DomainErrorCode, message: string, opts: { retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'DomainError'
    this.code = code
    if (opts.retryAfterSeconds !== undefined) this.retryAfterSeconds = opts.retryAfterSeconds
  }
}

export class WhatsAppDisabledError extends DomainError {
  constructor() {
    super('WHATSAPP_DISABLED', 'WhatsApp Pro is not enabled for this tenant')
  }
}
export class NotConnectedError extends DomainError {
  constructor(message = 'WhatsApp is not connected') {
    super('NOT_CONNECTED', message)
  }
}
export class AlreadyConnectedError extends DomainError {
  constructor() {
    super('ALREADY_CONNECTED', 'WhatsApp is already connected')
  }
}
/** The phone that scanned is not the number the link attempt expected (decision 200); it was logged out. */
export class WrongNumberError extends DomainError {
  constructor(
    readonly expectedPhone: string,
    readonly actualPhoneMasked: string,
  ) {
    super('WRONG_NUMBER', 'Another phone than the expected number was linked; it was logged out')
  }
}
export class InstanceBusyError extends DomainError {
  constructor() {
    super('INSTANCE_BUSY', 'The shared WhatsApp instance is in use by another tenant')
  }
}
export class NoInstanceAvailableError extends DomainError {
  constructor() {
    super('NO_INSTANCE_AVAILABLE', 'No WhatsApp instance is free right now')
  }
}
export class RateLimitedError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super('RATE_LIMITED', 'Too many requests', { retryAfterSeconds })
  }
}
export class UpstreamUnavailableError extends DomainError {
  constructor(message: string, opts: { retryAfterSeconds?: number; cause?: unknown } = {}) {
    super('UPSTREAM_UNAVAILABLE', message, opts)
  }
}
export class UpstreamAuthError extends DomainError {
  constructor(message = 'The gateway rejected the instance credentials') {
    super('UPSTREAM_AUTH', message)
  }
}
/**
 * A stored credential that cannot be decrypted: its key is not in this process's key ring (a
 * rotation ran elsewhere, a key was retired too early) or the row was tampered with. An
 * operator problem, not the user's: the edge answers 503. `keyId` is the envelope's key id
 * (public, part of the envelope), for the log line; never the envelope itself.
 */
export class CredentialDecryptError extends DomainError {
  readonly keyId: string | undefined
  constructor(opts: { keyId?: string | undefined } = {}) {
    super('CREDENTIALS_UNREADABLE', 'Stored credentials could not be decrypted')
    this.keyId = opts.keyId
  }
}

/** Input the domain refuses (the app validates first; this is the second line). */
/** The Idempotency-Key was used (within 24 h) for a request with another body. */
export class IdempotencyConflictError extends DomainError {
  constructor() {
    super('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was already used with another request body')
  }
}
/** No such message for this tenant (another tenant's id included: it does not exist here). */
export class MessageNotFoundError extends DomainError {
  constructor() {
    super('MESSAGE_NOT_FOUND', 'No such message')
  }
}
/**
 * One field's problem. `code` names the text the app shows (`api.issue.<code>` in the caller's
 * language, with `vars`); `message` is the English fallback for logs and callers without texts
 * (decision 256: the domain holds no user-facing text).
 */
export interface DomainIssue {
  path: string
  message: string
  code?: string
  vars?: Record<string, string | number>
}

export class InvalidInputError extends DomainError {
  readonly issues: DomainIssue[]
  constructor(message: string, issues: DomainIssue[] = []) {
    super('VALIDATION_FAILED', message)
    this.issues = issues
  }
}
/** No stored profile picture for this tenant's linked account (another tenant's included). */
export class ProfilePictureNotFoundError extends DomainError {
  constructor() {
    super('PROFILE_PICTURE_NOT_FOUND', 'No profile picture')
  }
}
/** Webhook for an unknown instance or with a missing/wrong token. The edge answers 401. */
export class WebhookUnauthorizedError extends DomainError {
  constructor() {
    super('WEBHOOK_UNAUTHORIZED', 'Webhook not authorized')
  }
}

/** A CRM endpoint or delivery the tenant does not have (another tenant's id included). The edge answers 404. */
export class WebhookEndpointNotFoundError extends DomainError {
  constructor(what: 'endpoint' | 'delivery' = 'endpoint') {
    super('WEBHOOK_ENDPOINT_NOT_FOUND', `No such webhook ${what}`)
  }
}

/**
 * A CRM endpoint URL the target policy refuses (docs/security.md#crm-webhook-targets). `issues`
 * says why, as `invalid_url` | `https_required` | `private_address` | `unresolvable`.
 */
export class WebhookUrlRefusedError extends DomainError {
  readonly issues: DomainIssue[]
  readonly reason: string
  constructor(reason: string, explanation: string) {
    super('WEBHOOK_URL_REFUSED', `Webhook URL refused: ${reason}`)
    this.reason = reason
    this.issues = [{ path: 'url', message: `${reason}: ${explanation}`, code: `url.${reason}` }]
  }
}

/** A reboot asked for an instance that is not stuck in `starting` or `sleepMode`. The edge answers 409. */
export class RebootNotNeededError extends DomainError {
  constructor(status: string) {
    super('REBOOT_NOT_NEEDED', `A reboot is only offered in starting or sleepMode (the instance is ${status})`)
  }
}

/** "Supprimer le numéro" outside partner mode: the instance is not the tenant's to delete. The edge answers 409. */
export class PartnerModeOnlyError extends DomainError {
  constructor() {
    super('PARTNER_MODE_ONLY', 'Deleting the number is only possible when each tenant has its own instance (partner mode)')
  }
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && e.name === 'DomainError'
}
