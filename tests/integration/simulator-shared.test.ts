import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrateAllDown, migrateToLatest } from '../../db/migrate'
import { addMember, createTenant } from '../factories'
import { testDb } from '../utils/db'
import { eventually } from '../utils/wa-harness'
import { childToken, startAppProcess, type AppProcess } from './reliability-support'

/**
 * The simulator of `npm start` keeps its state in PostgreSQL (decision 215): two app processes in
 * simulator mode serve one simulator (a link made through one holds once it stops, and relinking
 * through the other works), and `db:reset` leaves no stale "connected" behind.
 */
let a: AppProcess | undefined
let b: AppProcess | undefined
let c: AppProcess | undefined
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), c?.stop()])
})

async function owner(): Promise<{ tenantId: string; ownerId: string }> {
  const ownerId = (
    await testDb().selectFrom('users').select('id').where('email', '=', 'admin@macrea.test').executeTakeFirstOrThrow()
  ).id
  const tenant = await createTenant({ whatsappEnabled: true })
  await addMember(tenant, { id: ownerId }, 'owner')
  return { tenantId: tenant.id, ownerId }
}

const headers = async (t: { tenantId: string; ownerId: string }) => ({
  authorization: `Bearer ${await childToken(t.ownerId, t.tenantId)}`,
  'content-type': 'application/json',
})

async function status(app: AppProcess, t: { tenantId: string; ownerId: string }) {
  const res = await fetch(`${app.url}/api/wa/qr/status`, { headers: await headers(t) })
  expect(res.status).toBe(200)
  return (await res.json()) as { connected: boolean; status: string; phoneNumber?: string }
}

async function generate(app: AppProcess, t: { tenantId: string; ownerId: string }) {
  const res = await fetch(`${app.url}/api/wa/qr/generate`, { method: 'POST', headers: await headers(t), body: '{}' })
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json()) as { status?: string; connected?: boolean }
}

/** The tenant's simulator instance and the QR nonce every process reads from the database. */
async function storedInstance(tenantId: string) {
  const cfg = await testDb()
    .selectFrom('tenant_provider_configs')
    .select('instance_id')
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow()
  const row = await testDb()
    .selectFrom('wa_simulator_instances')
    .select(['id', sql<string>`record->>'qrNonce'`.as('nonce'), sql<string>`record->>'state'`.as('state')])
    .where('id', '=', cfg.instance_id!)
    .executeTakeFirstOrThrow()
  return row
}

/** Scans with the simulated phone served by `app` (its HTML form, as a person would). */
async function scanThrough(app: AppProcess, tenantId: string, phone: string): Promise<Response> {
  const inst = await storedInstance(tenantId)
  return fetch(`${app.url}/dev/simulator/scan/${inst.id}/${inst.nonce}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ phoneNumber: phone }),
  })
}

describe('two app processes in simulator mode share one simulator', () => {
  beforeAll(async () => {
    ;[a, b] = await Promise.all([
      startAppProcess({ GREENAPI_MODE: 'simulator' }),
      startAppProcess({ GREENAPI_MODE: 'simulator' }),
    ])
  }, 120_000)

  it('creates the instances once, registered with one apiUrl whoever booted last', async () => {
    const stored = await testDb().selectFrom('wa_simulator_instances').select('id').execute()
    expect(stored).toHaveLength(20)
    const registered = await testDb()
      .selectFrom('wa_instances')
      .select(['id', 'api_url'])
      .where('mode', '=', 'simulator')
      .execute()
    expect(registered.map((r) => r.id).sort()).toEqual(stored.map((r) => r.id).sort())
    expect(new Set(registered.map((r) => r.api_url))).toEqual(new Set(['http://green-api.simulator.invalid/__sim/green-api']))
  })

  it('a link made through A holds once A stops, and relinking through B works', async () => {
    const t = await owner()
    await generate(a!, t)
    // The phone page of B scans the QR A showed: one state, whichever process serves it.
    const scanned = await scanThrough(b!, t.tenantId, '+33611223344')
    expect(scanned.status, await scanned.clone().text()).toBe(200)
    expect(await scanned.text()).toContain('+33611223344')
    await eventually(
      async () => expect(await status(a!, t)).toMatchObject({ connected: true, phoneNumber: '+33611223344' }),
      15_000,
    )
    expect((await storedInstance(t.tenantId)).state).toBe('authorized')

    await a!.stop()
    // B asks the simulator itself (no cache): still linked with A gone.
    await eventually(
      async () => expect(await status(b!, t)).toMatchObject({ connected: true, phoneNumber: '+33611223344' }),
      15_000,
    )

    const disconnected = await fetch(`${b!.url}/api/wa/disconnect`, { method: 'POST', headers: await headers(t), body: '{}' })
    expect(disconnected.status, await disconnected.clone().text()).toBe(200)
    expect(await status(b!, t)).toMatchObject({ connected: false })
    await generate(b!, t)
    expect((await storedInstance(t.tenantId)).state).toBe('notAuthorized')
    const relinked = await scanThrough(b!, t.tenantId, '+33655667788')
    expect(relinked.status, await relinked.clone().text()).toBe(200)
    await eventually(
      async () => expect(await status(b!, t)).toMatchObject({ connected: true, phoneNumber: '+33655667788' }),
      15_000,
    )
  }, 90_000)

  it('after a database reset the simulator starts empty: no stale "connected" without a scan', async () => {
    await Promise.all([a?.stop(), b?.stop()])
    expect(
      await testDb()
        .selectFrom('wa_simulator_instances')
        .select('id')
        .where(sql<boolean>`record->>'state' = 'authorized'`)
        .execute(),
    ).not.toHaveLength(0)
    // What `npm run db:reset` does (db/migrate.ts migrateCli --reset), on this file's database.
    await migrateAllDown(testDb())
    await migrateToLatest(testDb(), process.env.DATABASE_URL!)
    c = await startAppProcess({ GREENAPI_MODE: 'simulator' })
    const stored = await testDb()
      .selectFrom('wa_simulator_instances')
      .select(sql<string>`record->>'state'`.as('state'))
      .execute()
    expect(stored).toHaveLength(20)
    expect(new Set(stored.map((r) => r.state))).toEqual(new Set(['notAuthorized']))
    const t = await owner()
    expect(await generate(c, t)).not.toMatchObject({ connected: true })
    expect(await status(c, t)).toMatchObject({ connected: false, status: 'notAuthorized' })
  }, 120_000)
})
