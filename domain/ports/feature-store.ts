/** The add-on flags of one tenant, with the names the seed's JSON route uses. */
export interface FeatureFlags {
  whatsapp_enabled: boolean
  sms_enabled: boolean
  email_enabled: boolean
}

export type UpgradeRequestOutcome = 'recorded' | 'already_pending'

export type HandleUpgradeOutcome =
  { kind: 'missing' } | { kind: 'already_handled'; at: Date } | { kind: 'handled'; tenantId: string; feature: string }

/**
 * Per-tenant feature flags and upgrade requests. Every method is keyed by tenant id.
 * Contains no secrets; tenant ids and user ids are safe to log.
 */
export interface FeatureStore {
  /**
   * The flags of a tenant, or `null` when the tenant has no `tenant_features` row.
   *
   * @example
   * const flags = await features.getFlags('macrea') // { whatsapp_enabled: true, … } | null
   */
  getFlags(tenantId: string): Promise<FeatureFlags | null>

  /**
   * Records that a tenant asked for a feature. Idempotent: while an earlier request for the same
   * tenant and feature is still open (not handled), nothing new is written and
   * `'already_pending'` is returned.
   *
   * @example
   * await features.recordUpgradeRequest({ tenantId: 'macrea', feature: 'whatsapp', requestedBy: userId })
   */
  recordUpgradeRequest(input: {
    tenantId: string
    feature: 'whatsapp'
    /** User id (uuid) of the requester, or null for a system/operator actor. */
    requestedBy: string | null
  }): Promise<UpgradeRequestOutcome>

  /**
   * Sets some flags of a tenant (a tenant without a row gets one with the defaults first), under
   * a row lock, and returns the flags before and after.
   *
   * @example
   * const { before, after } = await features.changeFlags('macrea', { whatsapp_enabled: true })
   */
  changeFlags(tenantId: string, changes: Partial<FeatureFlags>): Promise<{ before: FeatureFlags; after: FeatureFlags }>

  /**
   * Marks an open upgrade request handled; with `enable`, switches WhatsApp Pro on for its
   * tenant in the same transaction.
   *
   * @example
   * const outcome = await features.handleUpgradeRequest('42', { enable: true })
   */
  handleUpgradeRequest(id: string, options: { enable: boolean }): Promise<HandleUpgradeOutcome>

  /**
   * When WhatsApp Pro was last switched off for the tenant, while it is off (null when it is on,
   * was never on, or the tenant has no row).
   *
   * @example
   * const endedAt = await features.whatsappEndedAt('macrea') // Date | null
   */
  whatsappEndedAt(tenantId: string): Promise<Date | null>

  /**
   * Tenants whose WhatsApp Pro ended before `cutoff` and that still hold a Green-API instance
   * (a linked number, a link attempt or a leftover claim), oldest end first, at most `limit`.
   *
   * @example
   * const due = await features.endedWhileHoldingInstance(new Date(Date.now() - 7 * 86_400_000), 100)
   */
  endedWhileHoldingInstance(cutoff: Date, limit: number): Promise<string[]>
}
