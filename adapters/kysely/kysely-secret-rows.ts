import type { Kysely } from 'kysely'
import { z } from 'zod'
import type { Database } from '../../db/schema'
import { ENVELOPE_VERSION, envelopeKeyId } from '../crypto/aes-gcm-credential-vault'
import { KEY_ID_PATTERN } from '../crypto/encryption-keys'
import type { ReencryptionVault, SecretColumnRef, SecretRow, SecretRowSource } from '../crypto/reencrypt'

/**
 * The encrypted columns of the database, for key rotation (`reencryptAll`) and `keys verify`.
 *
 * Secret locations (the AAD every envelope is bound to):
 * - tenant_provider_configs.encrypted_config → tenant = the row's tenant_id
 * - wa_instances.encrypted_token / encrypted_webhook_token → tenant = `_system` (instances move
 *   between tenants in pool mode, so their tokens are not bound to one)
 */

export const SYSTEM_TENANT_ID = '_system'

export const SECRET_COLUMNS = [
  { table: 'tenant_provider_configs', column: 'encrypted_config' },
  { table: 'wa_instances', column: 'encrypted_token' },
  { table: 'wa_instances', column: 'encrypted_webhook_token' },
] as const satisfies readonly SecretColumnRef[]

export type SecretColumn = (typeof SECRET_COLUMNS)[number]

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
const configRowSchema = z.object({ id: idSchema, tenant_id: z.string(), envelope: z.string() })
const instanceRowSchema = z.object({ id: idSchema, envelope: z.string() })

interface Page {
  afterId: string | null
  limit: number
  /** Only envelopes NOT under this key id. */
  notUnderKeyId?: string
}

export class KyselySecretRows implements SecretRowSource {
  readonly #db: Kysely<Database>
  readonly #tenantIds: readonly string[] | undefined

  constructor(db: Kysely<Database>, options: KyselySecretRowsOptions = {}) {
    this.#db = db
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
    const col = this.#column(row)
    let result: { numUpdatedRows: bigint }
    if (col.column === 'encrypted_config') {
      result = await this.#db
        .updateTable('tenant_provider_configs')
        .set({ encrypted_config: next })
        .where('id', '=', row.id)
        .where('encrypted_config', '=', row.envelope)
        .executeTakeFirst()
    } else if (col.column === 'encrypted_token') {
      result = await this.#db
        .updateTable('wa_instances')
        .set({ encrypted_token: next })
        .where('id', '=', row.id)
        .where('encrypted_token', '=', row.envelope)
        .executeTakeFirst()
    } else {
      result = await this.#db
        .updateTable('wa_instances')
        .set({ encrypted_webhook_token: next })
        .where('id', '=', row.id)
        .where('encrypted_webhook_token', '=', row.envelope)
        .executeTakeFirst()
    }
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

  #column(ref: SecretColumnRef): SecretColumn {
    const col = SECRET_COLUMNS.find((c) => c.table === ref.table && c.column === ref.column)
    if (col === undefined) throw new Error(`not an encrypted column: ${ref.table}.${ref.column}`)
    return col
  }

  async #list(ref: SecretColumnRef, page: Page): Promise<SecretRow[]> {
    const col = this.#column(ref)
    if (!Number.isInteger(page.limit) || page.limit < 1) throw new RangeError('limit must be a positive integer')
    if (page.notUnderKeyId !== undefined && !KEY_ID_PATTERN.test(page.notUnderKeyId)) {
      // Also guarantees the LIKE pattern below has no wildcard in it.
      throw new RangeError('invalid key id')
    }
    if (this.#tenantIds !== undefined && this.#tenantIds.length === 0) return []
    const currentPrefix = page.notUnderKeyId === undefined ? undefined : `${ENVELOPE_VERSION}.${page.notUnderKeyId}.%`
    const tenantIds = this.#tenantIds

    if (col.column === 'encrypted_config') {
      let q = this.#db
        .selectFrom('tenant_provider_configs')
        .select(['id', 'tenant_id', 'encrypted_config as envelope'])
        .orderBy('id')
        .limit(page.limit)
      if (page.afterId !== null) q = q.where('id', '>', page.afterId)
      if (currentPrefix !== undefined) q = q.where('encrypted_config', 'not like', currentPrefix)
      if (tenantIds !== undefined) q = q.where('tenant_id', 'in', tenantIds)
      const rows = await q.execute()
      return rows.map((raw) => {
        const r = configRowSchema.parse(raw)
        return {
          table: col.table,
          column: col.column,
          id: r.id,
          envelope: r.envelope,
          location: { tenantId: r.tenant_id, table: col.table, column: col.column },
        }
      })
    }

    let q = this.#db
      .selectFrom('wa_instances')
      .select(['id', `${col.column} as envelope`])
      .where(col.column, 'is not', null)
      .orderBy('id')
      .limit(page.limit)
    if (page.afterId !== null) q = q.where('id', '>', page.afterId)
    if (currentPrefix !== undefined) q = q.where(col.column, 'not like', currentPrefix)
    if (tenantIds !== undefined) q = q.where('tenant_id', 'in', tenantIds)
    const rows = await q.execute()
    return rows.map((raw) => {
      const r = instanceRowSchema.parse(raw)
      return {
        table: col.table,
        column: col.column,
        id: r.id,
        envelope: r.envelope,
        location: { tenantId: SYSTEM_TENANT_ID, table: col.table, column: col.column },
      }
    })
  }
}
