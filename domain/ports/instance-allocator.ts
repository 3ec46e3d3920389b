export type InstanceMode = 'shared' | 'pool' | 'partner' | 'simulator'

/**
 * A Green-API instance row (`wa_instances`) as the domain sees it. Both encrypted fields are
 * vault envelopes: never log them.
 */
export interface InstanceRecord {
  id: string
  mode: InstanceMode
  apiUrl: string
  /** SECRET (ciphertext) of the apiTokenInstance, vault location `INSTANCE_TOKEN_LOCATION`. */
  encryptedToken: string
  /**
   * SECRET (ciphertext) of the per-instance webhook token (vault location
   * `WEBHOOK_TOKEN_LOCATION`); null until the webhook is configured for this claim.
   */
  encryptedWebhookToken: string | null
  tenantId: string | null
  claimedAt: Date | null
  /**
   * True when the instance was released while its phone may still be linked upstream (the
   * previous holder's logout failed). The next claimer must log it out before linking, or it
   * would inherit the previous tenant's WhatsApp session.
   */
  needsLogout: boolean
}

/** What registering an operator's pool instance did (`registerPool`). */
export type PoolRegistration =
  | { outcome: 'added' | 'replaced' }
  /** Known already, and `replace` was not asked for: nothing changed. */
  | { outcome: 'exists' }
  /** `replace` refused, nothing changed: another mode's instance, or one a tenant holds. */
  | { outcome: 'refused'; reason: 'not_pool'; mode: InstanceMode }
  | { outcome: 'refused'; reason: 'claimed'; tenantId: string }

export interface RegisterInstanceInput {
  id: string
  mode: InstanceMode
  apiUrl: string
  /** SECRET (ciphertext). */
  encryptedToken: string
}

/**
 * Atomic operations on Green-API instances; the per-mode policy (shared / pool / simulator /
 * partner) lives in `domain/whatsapp/claim-instance.ts`. The database's unique constraints
 * (one tenant per instance, one instance per tenant) are the final word: implementations map
 * a unique violation to the domain errors below. Never log encrypted fields.
 */
export interface InstanceAllocator {
  /**
   * The instance currently claimed by the tenant, or null.
   *
   * @example
   * const mine = await instances.findClaimedBy('macrea')
   */
  findClaimedBy(tenantId: string): Promise<InstanceRecord | null>

  /**
   * One instance by id, claimed or not, or null. Used to route and authenticate webhooks.
   *
   * @example
   * const inst = await instances.findById('1101000001')
   */
  findById(instanceId: string): Promise<InstanceRecord | null>

  /**
   * Claims a given instance (shared mode). Returns the record when it is free or already the
   * tenant's; throws `InstanceBusyError` when another tenant holds it, `NoInstanceAvailableError`
   * when no such row exists. If the tenant already holds another instance, that one is returned.
   *
   * @example
   * const inst = await instances.claimById('1101000001', 'macrea', now)
   */
  claimById(instanceId: string, tenantId: string, at: Date): Promise<InstanceRecord>

  /**
   * Claims the first free instance of `mode` (`FOR UPDATE SKIP LOCKED`), or returns the one the
   * tenant already holds. Healthy instances come first; a quarantined one (`needsLogout`) only
   * when no healthy one is free and its next logout attempt is due; a broken one never.
   * Throws `NoInstanceAvailableError` when none is free.
   *
   * @example
   * const inst = await instances.claimFirstFree('pool', 'macrea', now)
   */
  claimFirstFree(mode: 'pool' | 'simulator', tenantId: string, at: Date): Promise<InstanceRecord>

  /**
   * Inserts an instance already claimed by the tenant (partner mode, created upstream just
   * before); its webhook token is usually null and set by `setWebhookToken` afterwards. Throws `InstanceBusyError` when the tenant
   * already holds an instance or the id exists.
   *
   * @example
   * await instances.registerClaimed({ id, mode: 'partner', apiUrl, encryptedToken, tenantId, encryptedWebhookToken, at: now })
   */
  registerClaimed(
    input: RegisterInstanceInput & { tenantId: string; encryptedWebhookToken: string | null; at: Date },
  ): Promise<InstanceRecord>

  /**
   * Adds an unclaimed instance or updates its URL/token/mode (operators, boot sync of the shared
   * env instance and simulator instances). Never changes who holds it.
   *
   * @example
   * await instances.register({ id: '1101000001', mode: 'pool', apiUrl, encryptedToken })
   */
  register(input: RegisterInstanceInput): Promise<InstanceRecord>

  /**
   * Adds an operator's pool instance or, with `replace`, changes the URL/token of an unclaimed
   * pool one; under a row lock, so a claim cannot slip in between the check and the write.
   *
   * @example
   * const r = await instances.registerPool({ id: '1101000001', apiUrl, encryptedToken }, { replace: false })
   */
  registerPool(input: Omit<RegisterInstanceInput, 'mode'>, options: { replace: boolean }): Promise<PoolRegistration>

  /**
   * Stores the encrypted webhook token of an instance held by the tenant (no-op otherwise).
   *
   * @example
   * await instances.setWebhookToken('1101000001', 'macrea', envelope)
   */
  setWebhookToken(instanceId: string, tenantId: string, encryptedWebhookToken: string): Promise<void>

  /**
   * Frees an instance held by the tenant: tenant, claim time, webhook token and poll lease are
   * cleared. No-op when the tenant does not hold it (idempotent).
   *
   * @example
   * await instances.release('1101000001', 'macrea')
   */
  release(instanceId: string, tenantId: string, options?: { needsLogout?: boolean }): Promise<void>

  /**
   * Takes the next free quarantined instance whose logout attempt is due (not broken) and
   * leases it until `leaseUntil` (pushes its next attempt there), so one process at a time
   * tries it and the pool does not hand it out meanwhile. Null when none is due.
   *
   * @example
   * const inst = await instances.takeDueQuarantined(now, addSeconds(now, 60))
   */
  takeDueQuarantined(at: Date, leaseUntil: Date): Promise<InstanceRecord | null>

  /**
   * Counts one more failed logout of a quarantined instance and returns the consecutive count.
   *
   * @example
   * const failures = await instances.recordLogoutFailure('1101000001')
   */
  recordLogoutFailure(instanceId: string): Promise<number>

  /**
   * After a failed logout: schedules the next attempt, or (`brokenAt`) takes the instance out of
   * the pool for good until an operator acts.
   *
   * @example
   * await instances.scheduleLogoutRetry('1101000001', { retryAt: inOneMinute })
   */
  scheduleLogoutRetry(instanceId: string, next: { retryAt: Date } | { brokenAt: Date }): Promise<void>

  /**
   * Ends the quarantine of a free instance whose background logout succeeded (no-op when a
   * tenant holds it or it is not quarantined).
   *
   * @example
   * await instances.clearQuarantine('1101000001')
   */
  clearQuarantine(instanceId: string): Promise<void>

  /**
   * Clears the quarantine flag once a logout of the (held) instance succeeded.
   *
   * @example
   * await instances.markLoggedOut('1101000001', 'macrea')
   */
  markLoggedOut(instanceId: string, tenantId: string): Promise<void>

  /**
   * Deletes an instance row held by the tenant (partner mode, after the upstream delete).
   * No-op when the tenant does not hold it.
   *
   * @example
   * await instances.remove('1101000001', 'macrea')
   */
  remove(instanceId: string, tenantId: string): Promise<void>

  /**
   * Single-flight lease for upstream state polls across processes: atomically sets
   * `state_polled_at = now` when it is null or older than `minIntervalMs`, and says whether
   * this caller got it. At most one caller per interval gets `true`.
   *
   * @example
   * if (await instances.tryAcquirePollLease('1101000001', 1000)) await provider.getState(creds)
   */
  tryAcquirePollLease(instanceId: string, minIntervalMs: number): Promise<boolean>

  /**
   * `tryAcquirePollLease` for many instances in one round trip: returns the ids whose lease
   * this caller got (the others were polled less than `minIntervalMs` ago, by anyone).
   *
   * @example
   * const won = await instances.tryAcquirePollLeases(['1101000001', '1101000002'], 1100)
   */
  tryAcquirePollLeases(instanceIds: readonly string[], minIntervalMs: number): Promise<Set<string>>
}
