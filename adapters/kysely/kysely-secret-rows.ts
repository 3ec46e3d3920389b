import type { Kysely } from 'kysely'
import { z } from 'zod'
import type { Database } from '../../db/schema'
import { ENVELOPE_VERSION, envelopeKeyId } from '../crypto/aes-gcm-credential-vault'
import { KEY_ID_PATTERN } from '../crypto/encryption-keys'
import type { ReencryptionVault, SecretColumnRef, SecretRow, SecretRowLocation, SecretRowSource } from '../crypto/reencrypt'
import { messageSecretLocation } from '../../domain/messages'
import { attemptResponseAt, endpointSecretAt, eventPayloadAt } from '../../domain/webhooks'
import { INSTANCE_TOKEN_LOCATION, WEBHOOK_TOKEN_LOCATION, configLocation } from '../../domain/whatsapp'
import { nameLocation, pictureLocation } from './kysely-connection-repository'

/**
 * Every encrypted column of the database, for key rotation (`reencryptAll`) and `keys verify`:
 * a column missing here keeps its rows under the old key, and `keys verify` would call that key
 * removable while message texts, profiles or signing secrets still need it.
 *
 * Each column's location (the AAD every envelope is bound to) is the one its writer uses:
 * - instance tokens → tenant `_system` (instances move between tenants in pool mode);
 * - a tenant's provider config and profile (name, picture) → the row's tenant;
 * - messages, CRM endpoints, events and delivery attempts → the tenant and the row id.
 */

export const SYSTEM_TENANT_ID = INSTANCE_TOKEN_LOCATION.tenantId

interface ColumnSpec {
  readonly table: keyof Database & string
  readonly column: string
  /** The row key, as text (a picture's row is keyed by its provider row). */
  readonly id: 'id' | 'provider_config_id'
  location(row: { id: string; tenantId: string }): SecretRowLocation
}

const SPECS = [
  { table: 'tenant_provider_configs', column: 'encrypted_config', id: 'id', location: (r) => configLocation(r.tenantId) },
  { table: 'wa_instances', column: 'encrypted_token', id: 'id', location: () => INSTANCE_TOKEN_LOCATION },
  { table: 'wa_instances', column: 'encrypted_webhook_token', id: 'id', location: () => WEBHOOK_TOKEN_LOCATION },
  { table: 'tenant_provider_configs', column: 'profile_name_encrypted', id: 'id', location: (r) => nameLocation(r.tenantId) },
  {
    table: 'wa_profile_pictures',
    column: 'picture_encrypted',
    id: 'provider_config_id',
    location: (r) => pictureLocation(r.tenantId),
  },
  {
    table: 'wa_messages',
    column: 'peer_encrypted',
    id: 'id',
    location: (r) => messageSecretLocation(r.tenantId, r.id, 'peer_encrypted'),
  },
  {
    table: 'wa_messages',
    column: 'text_encrypted',
    id: 'id',
    location: (r) => messageSecretLocation(r.tenantId, r.id, 'text_encrypted'),
  },
  { table: 'wa_webhook_endpoints', column: 'secret_encrypted', id: 'id', location: (r) => endpointSecretAt(r.tenantId, r.id) },
  { table: 'wa_webhook_events', column: 'payload_encrypted', id: 'id', location: (r) => eventPayloadAt(r.tenantId, r.id) },
  {
    table: 'wa_webhook_attempts',
    column: 'response_encrypted',
    id: 'id',
    location: (r) => attemptResponseAt(r.tenantId, r.id),
  },
] as const satisfies readonly ColumnSpec[]

export const SECRET_COLUMNS: readonly SecretColumnRef[] = SPECS.map(({ table, column }) => ({ table, column }))

export interface KyselySecretRowsOptions {
  /**
   * Only rows of these tenants (tenant_provider_configs.tenant_id, and wa_instances claimed by
   * them through wa_instances.tenant_id). Omit for every row. For per-tenant ops runs and tests.
   */
  tenantIds?: readonly string[]
}

export interface VerifyFailure {
  table: string
  column: string
  id: string
}

export interface VerifyReport {
  /** Rows with a non-null envelope. */
  checked: number
  /** Rows that decrypted. */
  ok: number
  /** Rows not under the current key (decryptable or not). */
  stale: number
  /** Envelopes per key id; malformed envelopes count under `(malformed)`. */
  byKeyId: Record<string, number>
  failures: VerifyFailure[]
}

const idSchema = z.union([z.string(), z.number(), z.bigint()]).transform((v) => String(v))
const rowSchema = z.object({ id: idSchema, tenant_id: z.string().nullable(), envelope: z.string() })

interface Page {
  afterId: string | null
  limit: number
  /** Only envelopes NOT under this key id. */
  notUnderKeyId?: string
}

export class KyselySecretRows implements SecretRowSource {
  /** The tables are named by SPECS at run time: Kysely's per-table types cannot follow. */
  readonly #anyDb: Kysely<any>
  readonly #tenantIds: readonly string[] | undefined

  constructor(db: Kysely<Database>, options: KyselySecretRowsOptions = {}) {
    this.#anyDb = db
    this.#tenantIds = options.tenantIds
  }

  columns(): readonly SecretColumnRef[] {
    return SECRET_COLUMNS
  }

  listStale(
    ref: SecretColumnRef,
    page: { currentKeyId: string; afterId: string | null; limit: number },
  ): Promise<readonly SecretRow[]> {
    return this.#list(ref, { afterId: page.afterId, limit: page.limit, notUnderKeyId: page.currentKeyId })
  }

  async compareAndSet(row: SecretRow, next: string): Promise<boolean> {
    const spec = this.#spec(row)
    // The table and columns come from SPECS, never from input: the dynamic names are ours.
    const result = await this.#anyDb
      .updateTable(spec.table)
      .set({ [spec.column]: next })
      .where(spec.id, '=', row.id)
      .where(spec.column, '=', row.envelope)
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }

  /**
   * Decrypts every stored envelope (plaintexts are discarded at once) and reports which rows
   * fail, plus how many envelopes each key id still protects. For `ops keys verify`: run it
   * before dropping an old key from WA_ENCRYPTION_KEYS (`stale` must be 0, `failures` empty).
   */
  async verifyAll(
    vault: Pick<ReencryptionVault, 'decrypt' | 'currentKeyId'>,
    { batchSize = 500 }: { batchSize?: number } = {},
  ): Promise<VerifyReport> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer')
    const current = vault.currentKeyId()
    const report: VerifyReport = { checked: 0, ok: 0, stale: 0, byKeyId: {}, failures: [] }
    for (const ref of SECRET_COLUMNS) {
      let afterId: string | null = null
      for (;;) {
        const batch = await this.#list(ref, { afterId, limit: batchSize })
        for (const row of batch) {
          report.checked += 1
          const keyId = envelopeKeyId(row.envelope) ?? '(malformed)'
          report.byKeyId[keyId] = (report.byKeyId[keyId] ?? 0) + 1
          if (keyId !== current) report.stale += 1
          try {
            vault.decrypt(row.envelope, row.location)
            report.ok += 1
          } catch {
            report.failures.push({ table: row.table, column: row.column, id: row.id })
          }
        }
        if (batch.length < batchSize) break
        afterId = batch[batch.length - 1]!.id
      }
    }
    return report
  }

  #spec(ref: SecretColumnRef): ColumnSpec {
    const spec = SPECS.find((c) => c.table === ref.table && c.column === ref.column)
    if (spec === undefined) throw new Error(`not an encrypted column: ${ref.table}.${ref.column}`)
    return spec
  }

  async #list(ref: SecretColumnRef, page: Page): Promise<SecretRow[]> {
    const spec = this.#spec(ref)
    if (!Number.isInteger(page.limit) || page.limit < 1) throw new RangeError('limit must be a positive integer')
    if (page.notUnderKeyId !== undefined && !KEY_ID_PATTERN.test(page.notUnderKeyId)) {
      // Also guarantees the LIKE pattern below has no wildcard in it.
      throw new RangeError('invalid key id')
    }
    if (this.#tenantIds !== undefined && this.#tenantIds.length === 0) return []
    let q = this.#anyDb
      .selectFrom(spec.table)
      .select([`${spec.id} as id`, 'tenant_id', `${spec.column} as envelope`])
      .where(spec.column, 'is not', null)
      .orderBy(spec.id)
      .limit(page.limit)
    if (page.afterId !== null) q = q.where(spec.id, '>', page.afterId)
    if (page.notUnderKeyId !== undefined) q = q.where(spec.column, 'not like', `${ENVELOPE_VERSION}.${page.notUnderKeyId}.%`)
    if (this.#tenantIds !== undefined) q = q.where('tenant_id', 'in', this.#tenantIds)
    const rows = await q.execute()
    return rows.map((raw) => {
      const r = rowSchema.parse(raw)
      return {
        table: spec.table,
        column: spec.column,
        id: r.id,
        envelope: r.envelope,
        // An unclaimed instance has no tenant; its tokens are `_system`'s anyway.
        location: spec.location({ id: r.id, tenantId: r.tenant_id ?? SYSTEM_TENANT_ID }),
      }
    })
  }
}
