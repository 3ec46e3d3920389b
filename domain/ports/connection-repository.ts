import type { ConnectionState } from '../whatsapp/connection-state'
import type { LinkedAccount } from '../whatsapp/linked-account'
import type { ProfilePicture } from '../whatsapp/linked-profile'

/**
 * `delete` after our own logout: Green-API notifies the logout it was asked for
 * (`stateInstanceChanged` → notAuthorized), and that echo may be stored before the row goes, as
 * a "link lost" entry. Entries to `notAuthorized` observed (webhook, poll, reconcile) since
 * `ourLogoutSince` are that echo: they are replaced by the one `disconnect` entry, which starts
 * from the state before them, so the history says who unlinked.
 */
export interface DeleteOptions {
  ourLogoutSince?: Date
}

/** Why a status changed; stored on each timeline entry. */
export type StatusSource = 'link' | 'poll' | 'webhook' | 'disconnect' | 'reconcile' | 'expire' | 'wrong_number'

/**
 * A tenant's WhatsApp provider row (`tenant_provider_configs`) as the domain sees it.
 * `encryptedConfig` is a vault envelope of `{instanceId, apiToken, apiUrl}`: never log it.
 */
export interface ConnectionRecord {
  tenantId: string
  instanceId: string
  /** SECRET (ciphertext). Never log, never return to a client. */
  encryptedConfig: string
  status: ConnectionState
  isActive: boolean
  /** The linked account (its phone), or null when unknown / not linked. */
  account: LinkedAccount | null
  linkStartedAt: Date | null
  /** Hard limit of the current link attempt; null when no attempt is running (e.g. connected). */
  linkExpiresAt: Date | null
  statusChangedAt: Date
  /** When the state was last confirmed upstream (poll, webhook, reconcile). */
  statusCheckedAt: Date | null
  /** Provider timestamp of the last applied webhook event. */
  lastEventAt: Date | null
  /**
   * When the linked account's profile (name, picture: `account.name`, `account.picture`) was
   * last fetched; null/absent: never for this account (decision 242).
   */
  profileFetchedAt?: Date | null
  /** The number the current link attempt expects (E.164), or null/absent: any phone (decision 200). */
  expectedPhone?: string | null
  /** The attempt was refused: another phone scanned (only its masked form is kept). */
  wrongNumber?: WrongNumber | null
}

/** A link attempt refused because the phone that scanned was not the expected one (decision 200). */
export interface WrongNumber {
  /** E.164, as the tenant typed it (normalised). */
  expectedPhone: string
  /** The number that scanned, masked (`+33 6 •• •• 56 78`): the full number is never stored. */
  actualPhoneMasked: string
}

export interface SaveLinkAttemptInput {
  tenantId: string
  instanceId: string
  /** SECRET (ciphertext). */
  encryptedConfig: string
  linkStartedAt: Date
  linkExpiresAt: Date
  /** The number this attempt expects (E.164), or null/absent: any phone. Clears a past wrong number. */
  expectedPhone?: string | null
}

export interface StatusUpdate {
  status: ConnectionState
  /**
   * The account seen (what it adds to the stored one: `observedAccount`), null to clear it;
   * `undefined` keeps the stored one.
   */
  account?: LinkedAccount | null
  /** When the state was observed; becomes `status_checked_at` (and `status_changed_at` on change). */
  checkedAt: Date
  source: StatusSource
  /**
   * Provider-side time of the event (webhooks). When given and older than the stored
   * `lastEventAt`, nothing is written and the outcome is `'stale'`.
   */
  eventAt?: Date
}

export type StatusUpdateOutcome =
  /** Status or account changed: row updated, timeline appended (when the status changed). */
  | { outcome: 'changed'; previous: ConnectionRecord; record: ConnectionRecord }
  /** Same status and account: only the check timestamp (and lastEventAt) moved. */
  | { outcome: 'unchanged'; record: ConnectionRecord }
  /** Event older than `lastEventAt`: ignored (equal timestamps apply: Green-API stamps in whole seconds). */
  | { outcome: 'stale'; record: ConnectionRecord }
  /** No row for this tenant (disconnected meanwhile). */
  | { outcome: 'missing' }

/** One recorded transition of the timeline, as the history shows it (no phone, no instance id). */
export interface StatusEvent {
  /** The entry's id (increasing with insertion), for cursors. */
  id: string
  from: ConnectionState | null
  to: ConnectionState
  source: StatusSource
  at: Date
}

/**
 * The two kinds of background work: link attempts (polled about once a second, their expiry
 * recorded once) and linked rows (reconciled once an interval).
 */
export type RefreshLane = 'attempts' | 'linked'

export interface DueForRefreshQuery {
  checkedBefore: Date
  limit: number
  /** One kind only; both when absent. */
  only?: RefreshLane
}

/** An unchanged answer of a background check (`recordChecked`): the status seen, and when it came. */
export interface CheckedObservation {
  tenantId: string
  status: ConnectionState
  at: Date
}

/**
 * The tenant's provider row and its status timeline (`wa_status_events`). Every method is keyed
 * by tenant id except `findByInstanceId` (webhook routing). Multi-row changes run in one
 * transaction. Implementations must never log `encryptedConfig`.
 */
export interface ConnectionRepository {
  /**
   * The tenant's row, or null.
   *
   * @example
   * const row = await connections.findByTenant('macrea')
   */
  findByTenant(tenantId: string): Promise<ConnectionRecord | null>

  /**
   * The row using a Green-API instance, or null. Used to route webhooks; the caller must still
   * authenticate the webhook before trusting anything.
   *
   * @example
   * const row = await connections.findByInstanceId('1101000001')
   */
  findByInstanceId(instanceId: string): Promise<ConnectionRecord | null>

  /**
   * Creates the tenant's row (status `notAuthorized`, timeline entry `link`) or, when it
   * exists, stores the (re-)encrypted config and instance id and restarts the link attempt
   * (`linkStartedAt`/`linkExpiresAt`); the status is left as is. One transaction.
   * Throws `InstanceBusyError` when the instance is referenced by another tenant's row.
   *
   * @example
   * await connections.saveLinkAttempt({ tenantId, instanceId, encryptedConfig, linkStartedAt: now, linkExpiresAt })
   */
  saveLinkAttempt(input: SaveLinkAttemptInput): Promise<ConnectionRecord>

  /**
   * Applies an observed state. In one transaction, under a row lock:
   * - `eventAt` older than `lastEventAt` → `'stale'`, nothing written;
   * - status or account differ (`planStatusUpdate`) → update `connection_status`, `is_active`
   *   (= authorized), the account's columns (`phone_number`), `status_changed_at` (status change only), `updated_at`, and append a
   *   timeline entry `{from, to, source}` when the status changed; becoming `authorized` also
   *   ends the link attempt (`linkExpiresAt` = null);
   * - always moves `status_checked_at` (and `last_event_at` when `eventAt` is given).
   *
   * @example
   * const r = await connections.applyStatus('macrea', { status: 'authorized', account: { phone: '+336…' }, checkedAt: now, source: 'poll' })
   */
  applyStatus(tenantId: string, update: StatusUpdate): Promise<StatusUpdateOutcome>

  /**
   * Records that the current link attempt passed its hard limit unscanned: appends the
   * timeline entry `expire` once per attempt. Returns true when it was written now, false when
   * this attempt already has one, is not past `linkExpiresAt` at `at`, is no longer
   * `notAuthorized`, or there is no row. A conditional write: no row is locked to find out.
   *
   * @example
   * if (await connections.recordLinkExpired('macrea', now)) metrics.expired++
   */
  recordLinkExpired(tenantId: string, at: Date): Promise<boolean>

  /**
   * Rows the background refresher has work for at `now`: the running link attempts
   * (`notAuthorized`, `linkExpiresAt` set, expiry not recorded yet: live ones to poll, expired
   * ones to record), oldest check first, at most `limit`; then linked rows (any other status)
   * last checked before `checkedBefore` (or never), oldest check first, at most `limit` too.
   * Each kind has its own limit: a wave of due reconciles never holds a live attempt back, and
   * many live attempts never starve the reconciles (docs/decisions/231). A store that knows the
   * poll leases (PostgreSQL) leaves out the linked rows whose instance's lease was taken after
   * `checkedBefore`: no process could take it again, and with them in the batch a second process
   * found only the rows the first was checking, and waited for it (decision 272).
   *
   * `only` lists one kind: the refresher runs each in a lane of its own (decision 273).
   *
   * @example
   * const due = await connections.listDueForRefresh({ checkedBefore: oneMinuteAgo, limit: 500 })
   */
  listDueForRefresh(input: DueForRefreshQuery): Promise<ConnectionRecord[]>

  /**
   * The bookkeeping of many unchanged observations in one write: each row whose stored status
   * is still `status` gets `status_checked_at = at`, the time its answer came (unless it
   * already holds a later one). Each row keeps its own time: the next check is due an interval
   * after it, however long the rest of the pass took.
   * Nothing a user sees changes, so nothing is published or timelined; a row that changed
   * meanwhile is left alone (its change was recorded by whoever saw it). Returns how many rows
   * were updated.
   *
   * @example
   * await connections.recordChecked([{ tenantId: 'macrea', status: 'notAuthorized', at: answeredAt }])
   */
  recordChecked(checks: ReadonlyArray<CheckedObservation>): Promise<number>

  /**
   * Deletes the tenant's row and appends the timeline entry `{from: status, to: notAuthorized,
   * source: 'disconnect'}` in one transaction. Returns the deleted record, or null when there
   * was none (idempotent).
   *
   * @example
   * const deleted = await connections.delete('macrea', new Date())
   */
  delete(tenantId: string, at: Date, options?: DeleteOptions): Promise<ConnectionRecord | null>

  /**
   * Rows worth checking upstream after a restart: not `notAuthorized`, or with a link attempt
   * whose hard limit is after `now`.
   *
   * @example
   * for (const row of await connections.listForReconcile(clock.now())) …
   */
  listForReconcile(now: Date): Promise<ConnectionRecord[]>

  /**
   * The tenant's timeline, newest first (`at`, then id), at most `limit` entries, older than the
   * entry `beforeId` when given (an id of another tenant, or gone, gives an empty page).
   * `hasMore`: older entries exist. Kept after a disconnect (the row goes, its history stays).
   *
   * @example
   * const { events, hasMore } = await connections.listStatusEvents('macrea', { limit: 20 })
   */
  listStatusEvents(
    tenantId: string,
    query: { limit: number; beforeId?: string },
  ): Promise<{ events: StatusEvent[]; hasMore: boolean }>

  /**
   * True when the tenant's timeline has an entry to `authorized`: a number was linked once.
   *
   * @example
   * if (!(await connections.hasBeenAuthorized('macrea'))) showFirstLinkChecklist()
   */
  hasBeenAuthorized(tenantId: string): Promise<boolean>

  /**
   * The history's retention (decision 259): deletes every tenant's entries older than `cutoff`,
   * except each tenant's newest entry to `authorized`, so `hasBeenAuthorized` still knows a number
   * was linked once (no first-link checklist for a tenant linked long ago). Returns how many went.
   *
   * @example
   * const deleted = await connections.purgeStatusEventsBefore(new Date(Date.now() - 90 * 86_400_000))
   */
  purgeStatusEventsBefore(cutoff: Date): Promise<number>

  /**
   * The link attempt's phone was not the expected one (decision 200): in one transaction, under
   * the row lock, ends the attempt (`notAuthorized`, no account, `linkExpiresAt` = null) and
   * keeps `wrongNumber.actualPhoneMasked`; appends a timeline entry when the status changed.
   * `'missing'` when there is no row.
   *
   * @example
   * await connections.recordWrongNumber('macrea', { actualPhoneMasked: '+33 6 •• •• 56 78', at: now, source: 'webhook' })
   */
  recordWrongNumber(
    tenantId: string,
    input: { actualPhoneMasked: string; at: Date; source: StatusSource },
  ): Promise<StatusUpdateOutcome>

  /**
   * The last number this tenant linked (E.164), kept after a disconnect; null when never linked.
   *
   * @example
   * const prefill = await connections.lastLinkedPhone('macrea')
   */
  lastLinkedPhone(tenantId: string): Promise<string | null>

  /**
   * Stores the linked account's fetched profile (decisions 240–242), in one transaction under
   * the row lock: the name (encrypted) and the picture (encrypted, with its type and version)
   * become `account.name` / `account.picture`, `profileFetchedAt` = `at`. Only while the row is
   * `authorized` with that `phone` (a profile fetched for an account since unlinked or replaced
   * is dropped: `'unchanged'`, nothing written). `'changed'` when the name or the picture
   * changed (the caller publishes), `'missing'` when there is no row. A new account (another
   * phone) or none drops the stored profile in `applyStatus` / `recordWrongNumber`, and the
   * row's deletion deletes it.
   *
   * @example
   * await connections.recordProfile('macrea', { phone: '+33612345678', name: 'Camille', picture, at: now })
   */
  recordProfile(
    tenantId: string,
    input: { phone: string; name: string | null; picture: ProfilePicture | null; at: Date },
  ): Promise<StatusUpdateOutcome>

  /** The stored picture of the tenant's linked account (the version `account.picture` names), or null. */
  findProfilePicture(tenantId: string): Promise<ProfilePicture | null>
}
