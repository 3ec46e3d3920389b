import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { KyselyAuditLog } from '../../adapters/kysely/kysely-audit-log'
import { KyselyRateLimiter } from '../../adapters/kysely/kysely-rate-limiter'
import { PgStatusPublisher, WA_STATUS_CHANNEL } from '../../adapters/kysely/pg-status-publisher'
import { PgStatusHub } from '../../adapters/postgres/pg-status-hub'
import { createTenant, uniqueSuffix } from '../factories'
import { otherProcessDb, testDb } from '../utils/db'

describe('KyselyRateLimiter', () => {
  it('counts hits across two processes in one window', async () => {
    const other = otherProcessDb()
    try {
      const a = new KyselyRateLimiter(testDb())
      const b = new KyselyRateLimiter(other)
      const key = `test:${uniqueSuffix()}`
      // A one-hour window makes a window boundary during the test practically impossible.
      const decisions = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).hit(key, 5, 3600)))
      expect(decisions.filter((d) => d.allowed)).toHaveLength(5)
      const refused = decisions.filter((d) => !d.allowed)
      expect(refused).toHaveLength(3)
      for (const d of refused) {
        expect(d.retryAfterSeconds).toBeGreaterThanOrEqual(1)
        expect(d.retryAfterSeconds).toBeLessThanOrEqual(3600)
      }
      // Another key has its own count.
      expect((await a.hit(`${key}:other`, 5, 3600)).allowed).toBe(true)
    } finally {
      await other.destroy()
    }
  })

  it('prunes keys idle for longer than their window now and then, keeps the others', async () => {
    const db = testDb()
    const idle = `old:${uniqueSuffix()}`
    const live = `live:${uniqueSuffix()}`
    const at = new Date(Date.now() - 2 * 3600_000)
    await db
      .insertInto('rate_limit_windows')
      .values({ key: idle, hits: [at], window_seconds: 3600, updated_at: at })
      .execute()
    await db
      .insertInto('rate_limit_windows')
      .values({ key: live, hits: [at], window_seconds: 86_400, updated_at: at })
      .execute()
    const limiter = new KyselyRateLimiter(db, { pruneEvery: 1 })
    await limiter.hit(`k:${uniqueSuffix()}`, 1, 60)
    const left = await db.selectFrom('rate_limit_windows').select('key').where('key', 'in', [idle, live]).execute()
    expect(left.map((r) => r.key)).toEqual([live])
  })

  it('refuses a non-integer window', async () => {
    await expect(new KyselyRateLimiter(testDb()).hit('k', 1, 0.5)).rejects.toThrow(RangeError)
  })
})

describe('KyselyAuditLog', () => {
  it('appends entries and the table refuses UPDATE and DELETE', async () => {
    const db = testDb()
    const tenant = await createTenant()
    await new KyselyAuditLog(db).append({
      actor: 'user:42',
      tenantId: tenant.id,
      action: 'whatsapp.disconnect',
      outcome: 'success',
      ip: '10.0.0.1',
      details: { instanceId: '1101', logout: 'failed' },
    })
    const row = await db.selectFrom('audit_log').selectAll().where('tenant_id', '=', tenant.id).executeTakeFirstOrThrow()
    expect(row).toMatchObject({
      actor: 'user:42',
      action: 'whatsapp.disconnect',
      outcome: 'success',
      ip: '10.0.0.1',
      details: { instanceId: '1101', logout: 'failed' },
    })
    await expect(db.updateTable('audit_log').set({ action: 'tampered' }).where('id', '=', row.id).execute()).rejects.toThrow(
      /append-only/,
    )
    await expect(db.deleteFrom('audit_log').where('id', '=', row.id).execute()).rejects.toThrow(/append-only/)
    await new KyselyAuditLog(db).append({ actor: 'system:ops', tenantId: null, action: 'x', outcome: 'denied' })
  })
})

describe('PgStatusPublisher → PgStatusHub', () => {
  it('notifies the wa_status channel with the status JSON, and a hub hands subscribers the same status back', async () => {
    const status = {
      connected: false,
      status: 'notAuthorized',
      checkedAt: new Date('2026-11-25T10:00:00.000Z'),
      linkExpiresAt: new Date('2026-11-25T10:05:00.000Z'),
    } as const
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
    const hub = new PgStatusHub(process.env.DATABASE_URL!, { warn() {}, info() {} })
    await client.connect()
    try {
      await client.query(`LISTEN ${WA_STATUS_CHANNEL}`)
      await hub.start()
      const raw = new Promise<unknown>((resolve) => client.once('notification', (n) => resolve(JSON.parse(n.payload ?? 'null'))))
      const delivered = new Promise<unknown[]>((resolve) => {
        const off = hub.subscribe('acme', (...args) => {
          off()
          resolve(args)
        })
      })
      await new PgStatusPublisher(testDb()).publish('acme', status)
      expect(await raw).toEqual({
        tenantId: 'acme',
        status: {
          connected: false,
          status: 'notAuthorized',
          checkedAt: '2026-11-25T10:00:00.000Z',
          linkExpiresAt: '2026-11-25T10:05:00.000Z',
        },
      })
      expect(await delivered).toEqual(['acme', status])
    } finally {
      await hub.close()
      await client.end()
    }
  })
})
