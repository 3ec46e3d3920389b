export type AuditOutcome = 'success' | 'failure' | 'denied'

export interface AuditEntry {
  /** Who acted: `user:<uuid>`, `system:<name>` (see `actorLabel`). */
  actor: string
  tenantId: string | null
  /** Dotted verb, e.g. `whatsapp.link.qr`, `whatsapp.disconnect`. */
  action: string
  outcome: AuditOutcome
  ip?: string | null
  /**
   * Small JSON-serialisable facts (instance id, error code, recipient). NEVER a credential,
   * API token, webhook token, ciphertext, QR code, pairing code or message body.
   */
  details?: Record<string, unknown>
}

/**
 * Append-only audit trail. Entries are never updated or deleted (the database refuses it).
 * Implementations must not log the entry's details at a level that leaks them elsewhere, and
 * callers must never put secrets in `details`.
 */
export interface AuditLog {
  /**
   * Appends one entry.
   *
   * @example
   * await audit.append({ actor: 'user:42', tenantId: 'macrea', action: 'whatsapp.disconnect', outcome: 'success' })
   */
  append(entry: AuditEntry): Promise<void>
}
