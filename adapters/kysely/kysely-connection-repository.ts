import { sql, type Kysely, type Transaction } from 'kysely'
import { z } from 'zod'
import type { Database } from '../../db/schema'
import type {
  CheckedObservation,
  DueForRefreshQuery,
  ConnectionRecord,
  ConnectionRepository,
  DeleteOptions,
  SaveLinkAttemptInput,
  StatusEvent,
  StatusSource,
  StatusUpdate,
  StatusUpdateOutcome,
} from '../../domain/ports/connection-repository'
import { CONNECTION_STATES, InstanceBusyError, planStatusUpdate, type ConnectionState } from '../../domain/whatsapp'
import { isUniqueViolation } from './pg-errors'
import type { CredentialVault, SecretLocation } from '../../domain/ports/credential-vault'
import { PROFILE_IMAGE_TYPES, profileKept, withProfile, type LinkedAccount, type ProfilePicture } from '../../domain/whatsapp'

const PROVIDER = 'green_api' as const
const INSTANCE_KEY = 'tenant_provider_configs_instance_id_key'

const date = z.coerce.date()
const ProviderRowSchema = z.object({
  tenant_id: z.string(),
  instance_id: z.string(),
  encrypted_config: z.string(),
  connection_status: z.enum(CONNECTION_STATES),
  is_active: z.boolean(),
  phone_number: z.string().nullable(),
  link_started_at: date.nullable(),
  link_expires_at: date.nullable(),
  status_changed_at: date,
  status_checked_at: date.nullable(),
  last_event_at: date.nullable(),
  expected_phone: z.string().nullable(),
  wrong_phone_masked: z.string().nullable(),
  profile_name_encrypted: z.string().nullable(),
  profile_picture_version: z.string().nullable(),
  profile_fetched_at: date.nullable(),
})

const PictureRowSchema = z.object({
  version: z.string(),
  content_type: z.enum(PROFILE_IMAGE_TYPES),
  picture_encrypted: z.string(),
})

/**
 * Where the profile's envelopes live (bound into their AEAD data: a copied envelope does not
 * decrypt); key rotation (kysely-secret-rows.ts) lists them too.
 */
export const nameLocation = (tenantId: string): SecretLocation => ({
  tenantId,
  table: 'tenant_provider_configs',
  column: 'profile_name_encrypted',
})
export const pictureLocation = (tenantId: string): SecretLocation => ({
  tenantId,
  table: 'wa_profile_pictures',
  column: 'picture_encrypted',
})

const StatusEventRowSchema = z.object({
  id: z.coerce.string(),
  from_status: z.enum(CONNECTION_STATES).nullable(),
  to_status: z.enum(CONNECTION_STATES),
  source: z.enum(['link', 'poll', 'webhook', 'disconnect', 'reconcile', 'expire', 'wrong_number']),
  occurred_at: date,
})

function rowToStatusEvent(raw: unknown): StatusEvent {
  const r = StatusEventRowSchema.parse(raw)
  return { id: r.id, from: r.from_status, to: r.to_status, source: r.source, at: r.occurred_at }
}

function rowToConnectionRecord(raw: unknown, vault?: CredentialVault): ConnectionRecord {
  const r = ProviderRowSchema.parse(raw)
  return {
    tenantId: r.tenant_id,
    instanceId: r.instance_id,
    encryptedConfig: r.encrypted_config,
    status: r.connection_status,
    isActive: r.is_active,
    account: r.phone_number === null ? null : accountOf(r, vault),
    profileFetchedAt: r.profile_fetched_at,
    linkStartedAt: r.link_started_at,
    linkExpiresAt: r.link_expires_at,
    statusChangedAt: r.status_changed_at,
    statusCheckedAt: r.status_checked_at,
    lastEventAt: r.last_event_at,
    expectedPhone: r.expected_phone,
    wrongNumber:
      r.wrong_phone_masked === null ? null : { expectedPhone: r.expected_phone ?? '', actualPhoneMasked: r.wrong_phone_masked },
  }
}

/** The row's account: the phone, and the profile's name (decrypted) and picture version when stored. */
function accountOf(r: z.output<typeof ProviderRowSchema>, vault?: CredentialVault): LinkedAccount {
  const account: LinkedAccount = { phone: r.phone_number ?? '' }
  if (r.profile_name_encrypted !== null && vault) {
    try {
      account.name = vault.decrypt(r.profile_name_encrypted, nameLocation(r.tenant_id))
    } catch {
      // A name that does not decrypt (a key missing from this ring) is not worth failing the status for.
    }
  }
  if (r.profile_picture_version !== null) account.picture = r.profile_picture_version
  return account
}

const COLUMNS = [
  'tenant_id',
  'instance_id',
  'encrypted_config',
  'connection_status',
  'is_active',
  'phone_number',
  'link_started_at',
  'link_expires_at',
  'status_changed_at',
  'status_checked_at',
  'last_event_at',
  'expected_phone',
  'wrong_phone_masked',
  'profile_name_encrypted',
  'profile_picture_version',
  'profile_fetched_at',
] as const

type Db = Kysely<Database> | Transaction<Database>

/**
 * `tenant_provider_configs` (one Green-API row per tenant), its timeline `wa_status_events` and
 * the linked account's profile picture `wa_profile_pictures`. The profile name and picture are
 * encrypted through `vault` (decision 240); without one (tests of other columns) a stored name
 * is not read and `recordProfile` refuses to write.
 */
export class KyselyConnectionRepository implements ConnectionRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly vault?: CredentialVault,
  ) {}

  private toRecord = (raw: unknown): ConnectionRecord => rowToConnectionRecord(raw, this.vault)

  async findByTenant(tenantId: string): Promise<ConnectionRecord | null> {
    const row = await this.db
      .selectFrom('tenant_provider_configs')
      .select(COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('provider', '=', PROVIDER)
      .executeTakeFirst()
    return row ? this.toRecord(row) : null
  }

  async findByInstanceId(instanceId: string): Promise<ConnectionRecord | null> {
    const row = await this.db
      .selectFrom('tenant_provider_configs')
      .select(COLUMNS)
      .where('instance_id', '=', instanceId)
      .executeTakeFirst()
    return row ? this.toRecord(row) : null
  }

  /**
   * Link attempts of one tenant run one at a time (transaction-scoped advisory lock on the
   * tenant), so concurrent first attempts converge on one row: the first inserts it, the others
   * find it and update it. Without the lock they all inserted, and the losers' violation of the
   * unique instance id (their own instance!) came back as "in use by another tenant".
   * A violation of the instance key now only means another tenant's row holds the instance.
   */
  async saveLinkAttempt(input: SaveLinkAttemptInput): Promise<ConnectionRecord> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(hashtext(${`wa_link:${input.tenantId}`}))`.execute(trx)
        const existing = await this.lockRow(trx, input.tenantId)
        if (existing) {
          const row = await trx
            .updateTable('tenant_provider_configs')
            .set({
              instance_id: input.instanceId,
              encrypted_config: input.encryptedConfig,
              link_started_at: input.linkStartedAt,
              link_expires_at: input.linkExpiresAt,
              link_expiry_recorded_at: null,
              expected_phone: input.expectedPhone ?? null,
              wrong_phone_masked: null,
              updated_at: sql`now()`,
            })
            .where('tenant_id', '=', input.tenantId)
            .where('provider', '=', PROVIDER)
            .returning(COLUMNS)
            .executeTakeFirstOrThrow()
          return this.toRecord(row)
        }
        const row = await trx
          .insertInto('tenant_provider_configs')
          .values({
            tenant_id: input.tenantId,
            provider: PROVIDER,
            instance_id: input.instanceId,
            encrypted_config: input.encryptedConfig,
            connection_status: 'notAuthorized',
            is_active: false,
            link_started_at: input.linkStartedAt,
            link_expires_at: input.linkExpiresAt,
            status_changed_at: input.linkStartedAt,
            expected_phone: input.expectedPhone ?? null,
          })
          .returning(COLUMNS)
          .executeTakeFirstOrThrow()
        await this.appendTimeline(trx, input.tenantId, input.instanceId, null, 'notAuthorized', 'link', input.linkStartedAt)
        return this.toRecord(row)
      })
    } catch (err) {
      if (isUniqueViolation(err, INSTANCE_KEY)) throw new InstanceBusyError()
      throw err
    }
  }

  async applyStatus(tenantId: string, update: StatusUpdate): Promise<StatusUpdateOutcome> {
    return this.db.transaction().execute(async (trx): Promise<StatusUpdateOutcome> => {
      const current = await this.lockRow(trx, tenantId)
      if (!current) return { outcome: 'missing' }
      const plan = planStatusUpdate(current, update)
      if (plan.kind === 'stale') return { outcome: 'stale', record: current }
      if (plan.kind === 'unchanged') {
        const row = await trx
          .updateTable('tenant_provider_configs')
          .set({ status_checked_at: plan.patch.statusCheckedAt, last_event_at: plan.patch.lastEventAt })
          .where('tenant_id', '=', tenantId)
          .where('provider', '=', PROVIDER)
          .returning(COLUMNS)
          .executeTakeFirstOrThrow()
        return { outcome: 'unchanged', record: this.toRecord(row) }
      }
      const p = plan.patch
      const kept = profileKept(current.account, p.account)
      if (!kept) await trx.deleteFrom('wa_profile_pictures').where('tenant_id', '=', tenantId).execute()
      const row = await trx
        .updateTable('tenant_provider_configs')
        .set({
          connection_status: p.status,
          is_active: p.isActive,
          phone_number: p.account?.phone ?? null,
          // The profile belongs to the account: another phone, or none, drops it (decision 242).
          ...(kept ? {} : { profile_name_encrypted: null, profile_picture_version: null, profile_fetched_at: null }),
          status_changed_at: p.statusChangedAt,
          status_checked_at: p.statusCheckedAt,
          last_event_at: p.lastEventAt,
          link_expires_at: p.linkExpiresAt,
          ...(p.status === 'authorized' ? { wrong_phone_masked: null } : {}),
          updated_at: sql`now()`,
        })
        .where('tenant_id', '=', tenantId)
        .where('provider', '=', PROVIDER)
        .returning(COLUMNS)
        .executeTakeFirstOrThrow()
      if (p.status === 'authorized' && p.account) await this.rememberLinkedPhone(trx, tenantId, p.account.phone, update.checkedAt)
      if (plan.timeline) {
        await this.appendTimeline(
          trx,
          tenantId,
          current.instanceId,
          plan.timeline.from,
          plan.timeline.to,
          update.source,
          update.checkedAt,
        )
      }
      return { outcome: 'changed', previous: current, record: this.toRecord(row) }
    })
  }

  async recordLinkExpired(tenantId: string, at: Date): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const marked = await trx
        .updateTable('tenant_provider_configs')
        .set({ link_expiry_recorded_at: at })
        .where('tenant_id', '=', tenantId)
        .where('provider', '=', PROVIDER)
        .where('connection_status', '=', 'notAuthorized')
        .where('link_expires_at', '<=', at)
        .where('link_expiry_recorded_at', 'is', null)
        .returning(['instance_id', 'connection_status'])
        .executeTakeFirst()
      if (!marked) return false
      await this.appendTimeline(
        trx,
        tenantId,
        marked.instance_id,
        marked.connection_status,
        marked.connection_status,
        'expire',
        at,
      )
      return true
    })
  }

  async listDueForRefresh(input: DueForRefreshQuery): Promise<ConnectionRecord[]> {
    // Two kinds, each with its own limit (decision 231): link attempts, then linked rows due.
    const attempts = input.only === 'linked' ? [] : await this.runningAttempts(input.limit)
    const linked = input.only === 'attempts' ? [] : await this.linkedDue(input.checkedBefore, input.limit)
    return [...attempts, ...linked].map(this.toRecord)
  }

  /** Link attempts whose expiry is not recorded yet (live, or expired to record), oldest check first. */
  private runningAttempts(limit: number) {
    return this.db
      .selectFrom('tenant_provider_configs')
      .select(COLUMNS)
      .where('provider', '=', PROVIDER)
      .where('connection_status', '=', 'notAuthorized')
      .where('link_expires_at', 'is not', null)
      .where('link_expiry_recorded_at', 'is', null)
      .orderBy(sql`status_checked_at NULLS FIRST`)
      .limit(limit)
      .execute()
  }

  /** Linked rows last checked before `checkedBefore` (or never), oldest check first. */
  private linkedDue(checkedBefore: Date, limit: number) {
    return (
      this.db
        .selectFrom('tenant_provider_configs')
        .select(COLUMNS)
        .where('provider', '=', PROVIDER)
        .where('connection_status', '<>', 'notAuthorized')
        .where((eb) => eb.or([eb('status_checked_at', 'is', null), eb('status_checked_at', '<', checkedBefore)]))
        // Being checked by another process (its lease runs for the interval): the next rows instead.
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('wa_instances')
                .select(sql`1`.as('leased'))
                .whereRef('wa_instances.id', '=', 'tenant_provider_configs.instance_id')
                .where('wa_instances.state_polled_at', '>', checkedBefore),
            ),
          ),
        )
        .orderBy(sql`status_checked_at NULLS FIRST`)
        .limit(limit)
        .execute()
    )
  }

  async recordChecked(checks: ReadonlyArray<CheckedObservation>): Promise<number> {
    if (checks.length === 0) return 0
    // One UPDATE for the whole pass; only bookkeeping columns, so the cache trigger stays quiet.
    const result = await sql`
      UPDATE tenant_provider_configs AS t SET status_checked_at = c.at
      FROM unnest(
        ${checks.map((c) => c.tenantId)}::text[],
        ${checks.map((c) => c.status)}::text[],
        ${checks.map((c) => c.at.toISOString())}::timestamptz[]
      ) AS c(tenant_id, status, at)
      WHERE t.tenant_id = c.tenant_id AND t.provider = ${PROVIDER} AND t.connection_status = c.status
        AND (t.status_checked_at IS NULL OR t.status_checked_at < c.at)`.execute(this.db)
    return Number(result.numAffectedRows ?? 0)
  }

  async delete(tenantId: string, at: Date, options: DeleteOptions = {}): Promise<ConnectionRecord | null> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .deleteFrom('tenant_provider_configs')
        .where('tenant_id', '=', tenantId)
        .where('provider', '=', PROVIDER)
        .returning(COLUMNS)
        .executeTakeFirst()
      if (!row) return null
      const since = options.ourLogoutSince
      const echoes = since
        ? await trx
            .deleteFrom('wa_status_events')
            .where('tenant_id', '=', tenantId)
            .where('instance_id', '=', row.instance_id)
            .where('to_status', '=', 'notAuthorized')
            .where('source', 'in', ['webhook', 'poll', 'reconcile'])
            .where('occurred_at', '>=', since)
            .returning(['id', 'from_status'])
            .execute()
        : []
      const record = this.toRecord(row)
      // The first echo's `from` is the state the disconnect ended.
      const first = echoes.reduce<(typeof echoes)[number] | undefined>(
        (a, e) => (a && BigInt(a.id) < BigInt(e.id) ? a : e),
        undefined,
      )
      const from = first ? ((first.from_status as ConnectionState | null) ?? record.status) : record.status
      await this.appendTimeline(trx, tenantId, record.instanceId, from, 'notAuthorized', 'disconnect', at)
      return record
    })
  }

  async listForReconcile(now: Date): Promise<ConnectionRecord[]> {
    const rows = await this.db
      .selectFrom('tenant_provider_configs')
      .select(COLUMNS)
      .where('provider', '=', PROVIDER)
      .where((eb) => eb.or([eb('connection_status', '<>', 'notAuthorized'), eb('link_expires_at', '>', now)]))
      .orderBy('tenant_id')
      .execute()
    return rows.map(this.toRecord)
  }

  async listStatusEvents(
    tenantId: string,
    query: { limit: number; beforeId?: string },
  ): Promise<{ events: StatusEvent[]; hasMore: boolean }> {
    let q = this.db
      .selectFrom('wa_status_events')
      .select(['id', 'from_status', 'to_status', 'source', 'occurred_at'])
      .where('tenant_id', '=', tenantId)
    if (query.beforeId !== undefined) {
      // Compared with the cursor's own row (same tenant), so the stored precision of the time is kept.
      q = q.where(
        sql<boolean>`(occurred_at, id) < (select c.occurred_at, c.id from wa_status_events c where c.id = ${query.beforeId}::bigint and c.tenant_id = ${tenantId})`,
      )
    }
    const rows = await q
      .orderBy('occurred_at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit + 1)
      .execute()
    return { events: rows.slice(0, query.limit).map(rowToStatusEvent), hasMore: rows.length > query.limit }
  }

  async hasBeenAuthorized(tenantId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('wa_status_events')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('to_status', '=', 'authorized')
      .limit(1)
      .executeTakeFirst()
    return row !== undefined
  }

  async purgeStatusEventsBefore(cutoff: Date): Promise<number> {
    const result = await this.db
      .deleteFrom('wa_status_events')
      .where('occurred_at', '<', cutoff)
      // Each tenant's newest entry to `authorized` stays: hasBeenAuthorized reads it (decision 259).
      .where(
        'id',
        'not in',
        this.db
          .selectFrom('wa_status_events')
          .select('id')
          .distinctOn('tenant_id')
          .where('to_status', '=', 'authorized')
          .orderBy('tenant_id')
          .orderBy('occurred_at', 'desc')
          .orderBy('id', 'desc'),
      )
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  async recordWrongNumber(
    tenantId: string,
    input: { actualPhoneMasked: string; at: Date; source: StatusSource },
  ): Promise<StatusUpdateOutcome> {
    return this.db.transaction().execute(async (trx): Promise<StatusUpdateOutcome> => {
      const current = await this.lockRow(trx, tenantId)
      if (!current) return { outcome: 'missing' }
      // Already refused (a webhook and a poll saw the same scan): one refusal, one logout.
      if (current.wrongNumber && current.linkExpiresAt === null) return { outcome: 'unchanged', record: current }
      const changed = current.status !== 'notAuthorized'
      const row = await trx
        .updateTable('tenant_provider_configs')
        .set({
          connection_status: 'notAuthorized',
          is_active: false,
          phone_number: null,
          profile_name_encrypted: null,
          profile_picture_version: null,
          profile_fetched_at: null,
          link_expires_at: null,
          wrong_phone_masked: input.actualPhoneMasked,
          status_checked_at: input.at,
          ...(changed ? { status_changed_at: input.at } : {}),
          updated_at: sql`now()`,
        })
        .where('tenant_id', '=', tenantId)
        .where('provider', '=', PROVIDER)
        .returning(COLUMNS)
        .executeTakeFirstOrThrow()
      await trx.deleteFrom('wa_profile_pictures').where('tenant_id', '=', tenantId).execute()
      // Always an entry, even when the state stays notAuthorized: the history says the attempt
      // ended in a refusal, not that it went quiet (decision 200).
      await this.appendTimeline(trx, tenantId, current.instanceId, current.status, 'notAuthorized', 'wrong_number', input.at)
      return { outcome: 'changed', previous: current, record: this.toRecord(row) }
    })
  }

  async lastLinkedPhone(tenantId: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('wa_last_linked_phones')
      .select('phone')
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst()
    return row?.phone ?? null
  }

  async recordProfile(
    tenantId: string,
    input: { phone: string; name: string | null; picture: ProfilePicture | null; at: Date },
  ): Promise<StatusUpdateOutcome> {
    const vault = this.vault
    if (!vault) throw new Error('KyselyConnectionRepository: a vault is needed to store a profile')
    return this.db.transaction().execute(async (trx): Promise<StatusUpdateOutcome> => {
      const current = await this.lockRow(trx, tenantId)
      if (!current) return { outcome: 'missing' }
      // Fetched for an account since unlinked or replaced: dropped.
      if (current.status !== 'authorized' || current.account?.phone !== input.phone)
        return { outcome: 'unchanged', record: current }
      const account = withProfile(current.account, input)
      const nameChanged = account.name !== current.account.name
      const row = await trx
        .updateTable('tenant_provider_configs')
        .set({
          ...(nameChanged
            ? { profile_name_encrypted: account.name === undefined ? null : vault.encrypt(account.name, nameLocation(tenantId)) }
            : {}),
          profile_picture_version: account.picture ?? null,
          profile_fetched_at: input.at,
          updated_at: sql`now()`,
        })
        .where('tenant_id', '=', tenantId)
        .where('provider', '=', PROVIDER)
        .returning([...COLUMNS, 'id'])
        .executeTakeFirstOrThrow()
      if (!input.picture) {
        await trx.deleteFrom('wa_profile_pictures').where('tenant_id', '=', tenantId).execute()
      } else if (input.picture.version !== current.account.picture) {
        const values = {
          version: input.picture.version,
          content_type: input.picture.contentType,
          picture_encrypted: vault.encrypt(Buffer.from(input.picture.bytes).toString('base64'), pictureLocation(tenantId)),
          fetched_at: input.at,
        }
        await trx
          .insertInto('wa_profile_pictures')
          .values({ provider_config_id: String(row.id), tenant_id: tenantId, ...values })
          .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ provider_config_id: String(row.id), ...values }))
          .execute()
      }
      const record = this.toRecord(row)
      const changed = nameChanged || account.picture !== current.account.picture
      return changed ? { outcome: 'changed', previous: current, record } : { outcome: 'unchanged', record }
    })
  }

  async findProfilePicture(tenantId: string): Promise<ProfilePicture | null> {
    const row = await this.db
      .selectFrom('wa_profile_pictures as p')
      .innerJoin('tenant_provider_configs as t', 't.id', 'p.provider_config_id')
      .select(['p.version', 'p.content_type', 'p.picture_encrypted'])
      .where('p.tenant_id', '=', tenantId)
      .where('t.tenant_id', '=', tenantId)
      .whereRef('t.profile_picture_version', '=', 'p.version')
      .executeTakeFirst()
    if (!row || !this.vault) return null
    const r = PictureRowSchema.parse(row)
    const bytes = Buffer.from(this.vault.decrypt(r.picture_encrypted, pictureLocation(tenantId)), 'base64')
    return { bytes: new Uint8Array(bytes), contentType: r.content_type, version: r.version }
  }

  private async rememberLinkedPhone(trx: Db, tenantId: string, phone: string, at: Date): Promise<void> {
    await trx
      .insertInto('wa_last_linked_phones')
      .values({ tenant_id: tenantId, phone, updated_at: at })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ phone, updated_at: at }))
      .execute()
  }

  private async lockRow(trx: Db, tenantId: string): Promise<ConnectionRecord | null> {
    const row = await trx
      .selectFrom('tenant_provider_configs')
      .select(COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('provider', '=', PROVIDER)
      .forUpdate()
      .executeTakeFirst()
    return row ? this.toRecord(row) : null
  }

  private async appendTimeline(
    trx: Db,
    tenantId: string,
    instanceId: string,
    from: string | null,
    to: string,
    source: StatusSource,
    at: Date,
  ): Promise<void> {
    await trx
      .insertInto('wa_status_events')
      .values({ tenant_id: tenantId, instance_id: instanceId, from_status: from, to_status: to, source, occurred_at: at })
      .execute()
  }
}
