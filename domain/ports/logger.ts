/**
 * Structured logging as the domain needs it (pino-compatible: `logger.warn(obj, msg)`).
 * Callers must never pass credentials, tokens, ciphertexts, QR/pairing codes or message bodies
 * in `obj`; the app's pino redaction is a second line of defence, not the first.
 */
export interface Logger {
  /** @example logger.info({ tenantId, instanceId }, 'whatsapp linked') */
  info(obj: Record<string, unknown>, msg: string): void
  /** @example logger.warn({ tenantId, code: err.code }, 'logout failed') */
  warn(obj: Record<string, unknown>, msg: string): void
  /** @example logger.error({ tenantId, err }, 'reconcile failed') */
  error(obj: Record<string, unknown>, msg: string): void
}
