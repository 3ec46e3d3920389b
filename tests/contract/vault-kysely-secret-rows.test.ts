import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { AesGcmCredentialVault } from '../../adapters/crypto/aes-gcm-credential-vault'
import { EncryptionKeyring } from '../../adapters/crypto/encryption-keys'
import { KyselySecretRows, SECRET_COLUMNS, SYSTEM_TENANT_ID } from '../../adapters/kysely/kysely-secret-rows'
import { CredentialDecryptError } from '../../domain/whatsapp/whatsapp.errors'
import { createInstance, createTenant } from '../factories'
import { testDb } from '../utils/db'

// Contract of the Kysely SecretRowSource + the vault against the real schema: which rows are
// listed, how paging and compare-and-set behave, what verifyAll reports, and that nothing is
// stored in clear.

const db = testDb()
afterAll(() => db.destroy())

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
const CONFIG = { table: 'tenant_provider_configs', column: 'encrypted_config' } as const
const TOKEN = { table: 'wa_instances', column: 'encrypted_token' } as const
const WEBHOOK = { table: 'wa_instances', column: 'encrypted_webhook_token' } as const

async function tenantWithCredentials(opts: { vault?: AesGcmCredentialVault; webhook?: boolean; canary?: string } = {}) {
  const vault = opts.vault ?? vaultK1
  const tenant = await createTenant()
  const token = opts.canary ?? `tok-${randomBytes(8).toString('hex')}`
  const instance = await createInstance({
    mode: 'partner',
    tenantId: tenant.id,
    encryptedToken: vault.encrypt(token, { tenantId: SYSTEM_TENANT_ID, ...TOKEN }),
  })
  if (opts.webhook) {
    await db
      .updateTable('wa_instances')
      .set({ encrypted_webhook_token: vault.encrypt(`hook-${token}`, { tenantId: SYSTEM_TENANT_ID, ...WEBHOOK }) })
      .where('id', '=', instance.id)
      .execute()
  }
  const { id } = await db
    .insertInto('tenant_provider_configs')
    .values({
      tenant_id: tenant.id,
      provider: 'green_api',
      encrypted_config: vault.encrypt(JSON.stringify({ instanceId: instance.id, apiToken: token }), {
        tenantId: tenant.id,
        ...CONFIG,
      }),
      instance_id: instance.id,
      connection_status: 'authorized',
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { tenantId: tenant.id, instanceId: instance.id, configId: String(id), token }
}

describe('KyselySecretRows', () => {
  it('covers every encrypted column of the schema, credentials first (a column left out would keep its rows under a retired key)', async () => {
    expect(new KyselySecretRows(db).columns()).toEqual(SECRET_COLUMNS)
    expect(SECRET_COLUMNS.slice(0, 3)).toEqual([CONFIG, TOKEN, WEBHOOK])
    // Every vault envelope column is named *_encrypted or encrypted_* (docs/data.md).
    const { rows } = await sql<{ table: string; column: string }>`
      select table_name as "table", column_name as "column" from information_schema.columns
      where table_schema = 'public' and column_name like '%encrypted%'`.execute(db)
    const key = (c: { table: string; column: string }) => `${c.table}.${c.column}`
    expect(rows.map(key).sort()).toEqual(SECRET_COLUMNS.map(key).sort())
  })

  it('lists only stale, non-null envelopes of its tenants, paged by id, with the right locations', async () => {
    const a = await tenantWithCredentials({ webhook: true })
    const b = await tenantWithCredentials({ vault: vaultK2 }) // already current
    const c = await tenantWithCredentials()
    const source = new KyselySecretRows(db, { tenantIds: [a.tenantId, b.tenantId, c.tenantId] })

    const configs = await source.listStale(CONFIG, { currentKeyId: 'k2', afterId: null, limit: 10 })
    expect(configs.map((r) => r.id)).toEqual([a.configId, c.configId].sort((x, y) => Number(x) - Number(y)))
    expect(configs[0]!.location).toEqual({ tenantId: [a, c].find((t) => t.configId === configs[0]!.id)!.tenantId, ...CONFIG })
    const firstPage = await source.listStale(CONFIG, { currentKeyId: 'k2', afterId: null, limit: 1 })
    const secondPage = await source.listStale(CONFIG, { currentKeyId: 'k2', afterId: firstPage[0]!.id, limit: 1 })
    expect([...firstPage, ...secondPage].map((r) => r.id)).toEqual(configs.map((r) => r.id))

    const hooks = await source.listStale(WEBHOOK, { currentKeyId: 'k2', afterId: null, limit: 10 })
    expect(hooks.map((r) => r.id)).toEqual([a.instanceId]) // null webhook tokens are not rows
    expect(hooks[0]!.location).toEqual({ tenantId: SYSTEM_TENANT_ID, ...WEBHOOK })
    expect(vaultK2.decrypt(hooks[0]!.envelope, hooks[0]!.location)).toBe(`hook-${a.token}`)

    expect(
      await new KyselySecretRows(db, { tenantIds: [] }).listStale(TOKEN, { currentKeyId: 'k2', afterId: null, limit: 5 }),
    ).toEqual([])
    await expect(source.listStale(TOKEN, { currentKeyId: "k2%' or 1=1", afterId: null, limit: 5 })).rejects.toThrow(RangeError)
    await expect(
      source.listStale({ table: 'users', column: 'password_hash' }, { currentKeyId: 'k2', afterId: null, limit: 5 }),
    ).rejects.toThrow(/not an encrypted column/)
  })

  it('compare-and-set writes only over the envelope it read', async () => {
    const t = await tenantWithCredentials()
    const source = new KyselySecretRows(db, { tenantIds: [t.tenantId] })
    const [row] = await source.listStale(TOKEN, { currentKeyId: 'k2', afterId: null, limit: 5 })
    const next = vaultK2.encrypt(t.token, row!.location)
    expect(await source.compareAndSet(row!, next)).toBe(true)
    expect(await source.compareAndSet(row!, vaultK2.encrypt('stale write', row!.location))).toBe(false)
    const stored = await db
      .selectFrom('wa_instances')
      .select('encrypted_token')
      .where('id', '=', t.instanceId)
      .executeTakeFirstOrThrow()
    expect(stored.encrypted_token).toBe(next)
  })

  it('verifyAll reports moved, unknown-key and malformed envelopes by row, without plaintext', async () => {
    const good = await tenantWithCredentials({ webhook: true })
    const moved = await tenantWithCredentials()
    const unknown = await tenantWithCredentials()
    const broken = await tenantWithCredentials()
    const source = new KyselySecretRows(db, { tenantIds: [good.tenantId, moved.tenantId, unknown.tenantId, broken.tenantId] })

    // Copy good's config into moved's row (another tenant): must not decrypt there.
    const goodConfig = await db
      .selectFrom('tenant_provider_configs')
      .select('encrypted_config')
      .where('id', '=', good.configId)
      .executeTakeFirstOrThrow()
    await db
      .updateTable('tenant_provider_configs')
      .set({ encrypted_config: goodConfig.encrypted_config })
      .where('id', '=', moved.configId)
      .execute()
    const foreign = new AesGcmCredentialVault(new EncryptionKeyring([['k9', randomBytes(32)]], 'k9'))
    await db
      .updateTable('wa_instances')
      .set({ encrypted_token: foreign.encrypt('x', { tenantId: SYSTEM_TENANT_ID, ...TOKEN }) })
      .where('id', '=', unknown.instanceId)
      .execute()
    await db
      .updateTable('wa_instances')
      .set({ encrypted_token: 'plain-text-token' })
      .where('id', '=', broken.instanceId)
      .execute()

    const report = await source.verifyAll(vaultK2, { batchSize: 2 })
    expect(report.checked).toBe(9) // 4 configs + 4 tokens + 1 webhook token
    expect(report.ok).toBe(6)
    expect(report.byKeyId).toEqual({ k1: 7, k9: 1, '(malformed)': 1 })
    expect(report.stale).toBe(9)
    expect(report.failures).toEqual(
      expect.arrayContaining([
        { ...CONFIG, id: moved.configId },
        { ...TOKEN, id: unknown.instanceId },
        { ...TOKEN, id: broken.instanceId },
      ]),
    )
    expect(report.failures).toHaveLength(3)
    expect(JSON.stringify(report)).not.toContain(good.token)
  })
})

describe('AesGcmCredentialVault at rest', () => {
  it('leaves no credential in clear anywhere in the database (dump-style scan)', async () => {
    const canary = `CANARY-${randomBytes(12).toString('hex')}`
    const t = await tenantWithCredentials({ canary, webhook: true })
    const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public'`.execute(db)
    let scanned = 0
    for (const { tablename } of tables.rows) {
      const dump = await sql<{
        text: string | null
      }>`select string_agg(t::text, E'\n') as text from ${sql.table(tablename)} t`.execute(db)
      const text = dump.rows[0]?.text ?? ''
      scanned += text.length
      expect(text, tablename).not.toContain(canary)
    }
    expect(scanned).toBeGreaterThan(0)
    // …while the application can still read it back.
    const row = await db
      .selectFrom('tenant_provider_configs')
      .select('encrypted_config')
      .where('id', '=', t.configId)
      .executeTakeFirstOrThrow()
    expect(JSON.parse(vaultK1.decrypt(row.encrypted_config, { tenantId: t.tenantId, ...CONFIG })).apiToken).toBe(canary)
    expect(() => vaultK1.decrypt(row.encrypted_config, { tenantId: SYSTEM_TENANT_ID, ...CONFIG })).toThrow(CredentialDecryptError)
  })
})
