import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { AesGcmCredentialVault, envelopeKeyId } from '../../adapters/crypto/aes-gcm-credential-vault'
import { EncryptionKeyring } from '../../adapters/crypto/encryption-keys'
import { type SecretRowSource, reencryptAll } from '../../adapters/crypto/reencrypt'
import { KyselySecretRows, SYSTEM_TENANT_ID } from '../../adapters/kysely/kysely-secret-rows'
import { createInstance, createTenant } from '../factories'
import { otherProcessDb, testDb } from '../utils/db'

// Rotation drill on a real PostgreSQL: rows under k1 → k2 becomes current → reencryptAll.
// Every test seeds its own uniquely keyed tenants and scopes the row source to them, so it
// never depends on (or touches) other rows in the database.

const db = testDb()
const appDb = otherProcessDb() // the "application" writing concurrently, on its own pool
afterAll(async () => {
  await appDb.destroy()
  await db.destroy()
})

const K1 = randomBytes(32)
const K2 = randomBytes(32)
const vaultK1 = new AesGcmCredentialVault(new EncryptionKeyring([['k1', K1]], 'k1'))
const vaultK2 = new AesGcmCredentialVault(
  new EncryptionKeyring(
    [
      ['k1', K1],
      ['k2', K2],
    ],
    'k2',
  ),
)
const vaultK2Only = new AesGcmCredentialVault(new EncryptionKeyring([['k2', K2]], 'k2')) // k1 retired

const CONFIG = { table: 'tenant_provider_configs', column: 'encrypted_config' } as const
const TOKEN = { table: 'wa_instances', column: 'encrypted_token' } as const
const WEBHOOK = { table: 'wa_instances', column: 'encrypted_webhook_token' } as const

interface Seeded {
  tenantIds: string[]
  /** `${table}.${column}.${id}` → plaintext */
  plaintexts: Map<string, string>
  rows: number
}

/** n tenants, each with an instance (token; webhook token on odd ones) and a provider config. */
async function seed(n: number, vault = vaultK1): Promise<Seeded> {
  const seeded: Seeded = { tenantIds: [], plaintexts: new Map(), rows: 0 }
  for (let i = 0; i < n; i++) {
    const tenant = await createTenant()
    const token = `token-${tenant.id}-${randomBytes(8).toString('hex')}`
    const webhook = i % 2 === 1 ? `webhook-${tenant.id}` : null
    const instance = await createInstance({
      tenantId: tenant.id,
      encryptedToken: vault.encrypt(token, { tenantId: SYSTEM_TENANT_ID, ...TOKEN }),
    })
    if (webhook !== null) {
      await db
        .updateTable('wa_instances')
        .set({ encrypted_webhook_token: vault.encrypt(webhook, { tenantId: SYSTEM_TENANT_ID, ...WEBHOOK }) })
        .where('id', '=', instance.id)
        .execute()
    }
    const config = JSON.stringify({ instanceId: instance.id, apiToken: token, apiUrl: instance.apiUrl })
    const { id } = await db
      .insertInto('tenant_provider_configs')
      .values({
        tenant_id: tenant.id,
        provider: 'green_api',
        encrypted_config: vault.encrypt(config, { tenantId: tenant.id, ...CONFIG }),
        instance_id: instance.id,
        connection_status: 'authorized',
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    seeded.tenantIds.push(tenant.id)
    seeded.plaintexts.set(`${CONFIG.table}.${CONFIG.column}.${id}`, config)
    seeded.plaintexts.set(`${TOKEN.table}.${TOKEN.column}.${instance.id}`, token)
    if (webhook !== null) seeded.plaintexts.set(`${WEBHOOK.table}.${WEBHOOK.column}.${instance.id}`, webhook)
  }
  seeded.rows = seeded.plaintexts.size
  return seeded
}

/** Key id of every seeded envelope, straight from SQL. */
async function keyIdsInDb(s: Seeded): Promise<string[]> {
  const configs = await db
    .selectFrom('tenant_provider_configs')
    .select('encrypted_config')
    .where('tenant_id', 'in', s.tenantIds)
    .execute()
  const instances = await db
    .selectFrom('wa_instances')
    .select(['encrypted_token', 'encrypted_webhook_token'])
    .where('tenant_id', 'in', s.tenantIds)
    .execute()
  return [
    ...configs.map((r) => r.encrypted_config),
    ...instances.flatMap((r) => [r.encrypted_token, ...(r.encrypted_webhook_token ? [r.encrypted_webhook_token] : [])]),
  ].map((e) => envelopeKeyId(e) ?? '(malformed)')
}

/** Decrypts every seeded row with `vault` and compares with what was stored. */
async function expectPlaintexts(s: Seeded, vault: AesGcmCredentialVault): Promise<void> {
  const source = new KyselySecretRows(db, { tenantIds: s.tenantIds })
  const report = await source.verifyAll(vault)
  expect(report.failures).toEqual([])
  expect(report.checked).toBe(s.rows)
  const configs = await db
    .selectFrom('tenant_provider_configs')
    .select(['id', 'tenant_id', 'encrypted_config'])
    .where('tenant_id', 'in', s.tenantIds)
    .execute()
  for (const r of configs) {
    expect(vault.decrypt(r.encrypted_config, { tenantId: r.tenant_id, ...CONFIG })).toBe(
      s.plaintexts.get(`${CONFIG.table}.${CONFIG.column}.${r.id}`),
    )
  }
  const instances = await db
    .selectFrom('wa_instances')
    .select(['id', 'encrypted_token', 'encrypted_webhook_token'])
    .where('tenant_id', 'in', s.tenantIds)
    .execute()
  for (const r of instances) {
    expect(vault.decrypt(r.encrypted_token, { tenantId: SYSTEM_TENANT_ID, ...TOKEN })).toBe(
      s.plaintexts.get(`${TOKEN.table}.${TOKEN.column}.${r.id}`),
    )
    if (r.encrypted_webhook_token !== null) {
      expect(vault.decrypt(r.encrypted_webhook_token, { tenantId: SYSTEM_TENANT_ID, ...WEBHOOK })).toBe(
        s.plaintexts.get(`${WEBHOOK.table}.${WEBHOOK.column}.${r.id}`),
      )
    }
  }
}

describe('key rotation on PostgreSQL', () => {
  it('moves every row from k1 to k2; a second run does nothing; k1 can then be retired', async () => {
    const s = await seed(5) // 5 configs + 5 tokens + 2 webhook tokens
    expect(s.rows).toBe(12)
    expect(new Set(await keyIdsInDb(s))).toEqual(new Set(['k1']))
    const source = new KyselySecretRows(db, { tenantIds: s.tenantIds })

    const before = await source.verifyAll(vaultK2)
    expect(before).toMatchObject({ checked: 12, ok: 12, stale: 12, byKeyId: { k1: 12 }, failures: [] })

    const first = await reencryptAll(source, vaultK2, { batchSize: 2 })
    expect(first).toEqual({ scanned: 12, reencrypted: 12, skipped: 0, failed: 0 })
    expect(await keyIdsInDb(s)).toEqual(Array(12).fill('k2'))
    await expectPlaintexts(s, vaultK2)

    const second = await reencryptAll(source, vaultK2, { batchSize: 2 })
    expect(second).toEqual({ scanned: 0, reencrypted: 0, skipped: 0, failed: 0 })

    // With k1 removed from the key ring every row still decrypts (Vault's min_decryption_version).
    await expectPlaintexts(s, vaultK2Only)
    expect(await source.verifyAll(vaultK2Only)).toMatchObject({ stale: 0, byKeyId: { k2: 12 }, failures: [] })
  })

  it('resumes after an interrupted run (throw in onProgress after the first batch)', async () => {
    const s = await seed(6) // 6 + 6 + 3 = 15 rows
    const source = new KyselySecretRows(db, { tenantIds: s.tenantIds })
    let calls = 0
    await expect(
      reencryptAll(source, vaultK2, {
        batchSize: 4,
        onProgress: (p) => {
          calls++
          expect(p).toMatchObject({ table: CONFIG.table, column: CONFIG.column, reencrypted: 4 })
          throw new Error('interrupted by deploy')
        },
      }),
    ).rejects.toThrow('interrupted by deploy')
    expect(calls).toBe(1)
    const midway = await keyIdsInDb(s)
    expect(midway.filter((k) => k === 'k2')).toHaveLength(4)
    expect(midway.filter((k) => k === 'k1')).toHaveLength(11)
    // Rows already moved stay readable by every node that has k2; the rest still read with k1.
    await expectPlaintexts(s, vaultK2)

    const rerun = await reencryptAll(source, vaultK2, { batchSize: 4 })
    expect(rerun).toEqual({ scanned: 11, reencrypted: 11, skipped: 0, failed: 0 })
    expect(await keyIdsInDb(s)).toEqual(Array(15).fill('k2'))
    await expectPlaintexts(s, vaultK2Only)
  })

  it('does not overwrite a concurrent change made between read and write', async () => {
    const s = await seed(3)
    const victim = await db
      .selectFrom('tenant_provider_configs')
      .select(['id', 'tenant_id'])
      .where('tenant_id', '=', s.tenantIds[1]!)
      .executeTakeFirstOrThrow()
    const changed = JSON.stringify({ instanceId: 'relinked', apiToken: `new-${randomBytes(6).toString('hex')}` })
    const at = { tenantId: victim.tenant_id, ...CONFIG }

    // The application (an old node, still writing with k1) relinks the tenant right after the
    // job read its batch and before the job writes it back.
    const real = new KyselySecretRows(db, { tenantIds: s.tenantIds })
    let injected = false
    const racing: SecretRowSource = {
      columns: () => real.columns(),
      listStale: async (ref, page) => {
        const rows = await real.listStale(ref, page)
        if (!injected && ref.column === CONFIG.column && rows.some((r) => r.id === String(victim.id))) {
          injected = true
          await appDb
            .updateTable('tenant_provider_configs')
            .set({ encrypted_config: vaultK1.encrypt(changed, at) })
            .where('id', '=', victim.id)
            .execute()
        }
        return rows
      },
      compareAndSet: (row, next) => real.compareAndSet(row, next),
    }

    const counts = await reencryptAll(racing, vaultK2, { batchSize: 10 })
    expect(injected).toBe(true)
    expect(counts).toEqual({ scanned: 7, reencrypted: 6, skipped: 1, failed: 0 })
    const afterRace = await db
      .selectFrom('tenant_provider_configs')
      .select('encrypted_config')
      .where('id', '=', victim.id)
      .executeTakeFirstOrThrow()
    expect(envelopeKeyId(afterRace.encrypted_config)).toBe('k1') // the app's write, untouched
    expect(vaultK2.decrypt(afterRace.encrypted_config, at)).toBe(changed)

    // The next run picks the straggler up, keeping the application's new value.
    expect(await reencryptAll(real, vaultK2)).toEqual({ scanned: 1, reencrypted: 1, skipped: 0, failed: 0 })
    const final = await db
      .selectFrom('tenant_provider_configs')
      .select('encrypted_config')
      .where('id', '=', victim.id)
      .executeTakeFirstOrThrow()
    expect(envelopeKeyId(final.encrypted_config)).toBe('k2')
    expect(vaultK2Only.decrypt(final.encrypted_config, at)).toBe(changed)
  })

  it('two jobs running at once re-encrypt each row exactly once', async () => {
    const s = await seed(8) // 8 + 8 + 4 = 20 rows
    const sourceA = new KyselySecretRows(db, { tenantIds: s.tenantIds })
    const sourceB = new KyselySecretRows(appDb, { tenantIds: s.tenantIds })
    const [a, b] = await Promise.all([
      reencryptAll(sourceA, vaultK2, { batchSize: 3 }),
      reencryptAll(sourceB, vaultK2, { batchSize: 3 }),
    ])
    expect(a.reencrypted + b.reencrypted).toBe(20)
    expect(a.failed + b.failed).toBe(0)
    expect(await keyIdsInDb(s)).toEqual(Array(20).fill('k2'))
    await expectPlaintexts(s, vaultK2Only)
  })
})
