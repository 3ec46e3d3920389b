import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import type { SimAvatarKind } from '../../adapters/green-api/simulator'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { expectError, get, newTenant, post, scanTarget, statusOf, type TenantActor } from './api-support'

/**
 * The linked account's profile (issue #16, decisions 240–242) over HTTP: name and picture
 * fetched in the background after the link, the picture served from our own origin, never the
 * upstream URL anywhere (responses, rows, jobs, logs), refreshed at most daily.
 */
const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-profile-logs-')), 'app.log')
// A reconcile every second, so a day-old profile is seen at once (the day itself is moved back in the row).
const h = useWaApp({ instances: 8, env: { LOG_LEVEL: 'trace', LOG_FILE: logFile, WA_RECONCILE_INTERVAL_SECONDS: '1' } })

const PICTURE_URL = /^\/api\/wa\/profile-picture\?v=[0-9a-f]{20}$/

/** generate → the simulated account gets `profile` → scan → authorized. */
async function linkWithProfile(
  t: TenantActor,
  phone: string,
  profile: { name: string; avatar: SimAvatarKind },
): Promise<{ instanceId: string; calls: (method: string) => number }> {
  const res = await post(h, '/api/wa/qr/generate', t)
  expect(res.status).toBe(200)
  const { instanceId, nonce } = await scanTarget(((await res.json()) as { qrCode: string }).qrCode)
  // The pool's instances are reused across tests: count this link's calls only.
  const before = new Map(['getContactInfo', 'simAvatar'].map((m) => [m, h.sim.callCount({ instanceId, method: m })]))
  const calls = (method: string) => h.sim.callCount({ instanceId, method }) - (before.get(method) ?? 0)
  h.sim.setProfile(instanceId, profile)
  expect(h.sim.scan(instanceId, nonce, phone)).toMatchObject({ ok: true })
  await eventually(async () => expect(await statusOf(h, t)).toMatchObject({ connected: true, phoneNumber: phone }))
  return { instanceId, calls }
}

/** Every stored row of the tenant (provider row, picture, timeline) and every job, as text. */
async function storedText(tenantId: string): Promise<string> {
  const db = testDb()
  const rows = await sql<{ row: string }>`
    select row_to_json(p)::text as row from tenant_provider_configs p where p.tenant_id = ${tenantId}
    union all select row_to_json(w)::text from wa_profile_pictures w where w.tenant_id = ${tenantId}
    union all select row_to_json(e)::text from wa_status_events e where e.tenant_id = ${tenantId}
    union all select row_to_json(j)::text from graphile_worker._private_jobs j`.execute(db)
  return rows.rows.map((r) => r.row).join('\n')
}

describe('linked account profile (name and picture from our origin)', () => {
  it('after the link: the status carries the name and our picture URL; the picture is the bytes the simulator served', async () => {
    const t = await newTenant()
    const name = `Canary Name ${t.tenantId.slice(0, 8)}`
    const { instanceId, calls } = await linkWithProfile(t, '+33612340001', { name, avatar: 'image' })

    const status = await eventually(async () => {
      const s = await statusOf(h, t)
      expect(s).toMatchObject({ connected: true, profileName: name, pictureUrl: expect.stringMatching(PICTURE_URL) })
      return s
    })
    expect(calls('getContactInfo')).toBe(1)
    expect(calls('simAvatar')).toBe(1)

    const pictureUrl = status.pictureUrl as string
    const res = await get(h, pictureUrl, t)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/png')
    expect(res.headers.get('cache-control')).toMatch(/^private\b/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const etag = res.headers.get('etag')
    expect(etag).toBe(`"${new URL(pictureUrl, h.app.url).searchParams.get('v')}"`)
    const served = new Uint8Array(await res.arrayBuffer())
    const upstream = await h.sim.avatarImage(instanceId)
    expect(upstream.rawBytes).toBeDefined()
    expect(Buffer.from(served).equals(Buffer.from(upstream.rawBytes!))).toBe(true)

    // The ETag revalidates; an old or missing version is not kept by the browser.
    const again = await get(h, pictureUrl, t, { 'if-none-match': etag! })
    expect(again.status).toBe(304)
    const unversioned = await get(h, '/api/wa/profile-picture', t)
    expect(unversioned.status).toBe(200)
    expect(unversioned.headers.get('cache-control')).toBe('private, no-cache')

    // Another tenant: its own picture does not exist, and it cannot name ours.
    const other = await newTenant()
    await expectError(await get(h, '/api/wa/profile-picture', other), 404, 'NOT_FOUND')
    const foreign = await get(h, pictureUrl, { token: other.token, tenantId: t.tenantId })
    expect([403, 404]).toContain(foreign.status)
    expect(foreign.headers.get('content-type') ?? '').toMatch(/^application\/json/)

    // The upstream URL is nowhere; the name is not in clear in the database.
    const page = await (await get(h, '/settings/whatsapp', t)).text()
    const upstreamUrlPart = `simAvatar/${instanceId}`
    expect(JSON.stringify(status)).not.toContain(upstreamUrlPart)
    expect(page).not.toContain(upstreamUrlPart)
    const stored = await storedText(t.tenantId)
    expect(stored).toContain('profile_picture_version') // the rows were read
    expect(stored).not.toContain(upstreamUrlPart)
    expect(stored).not.toContain('greenapi.test/simAvatar')
    expect(stored).not.toContain(name)
    await eventually(async () => {
      const logs = fs.readFileSync(logFile, 'utf8')
      expect(logs).toContain('green-api call') // the log file is written
      expect(logs).not.toContain(upstreamUrlPart)
      expect(logs).not.toContain(name)
    })

    // Disconnect: the profile goes with the rest of the link's data.
    expect((await post(h, '/api/wa/disconnect', t)).status).toBe(200)
    const left = await testDb()
      .selectFrom('wa_profile_pictures')
      .select('tenant_id')
      .where('tenant_id', '=', t.tenantId)
      .execute()
    expect(left).toEqual([])
    await expectError(await get(h, '/api/wa/profile-picture', t), 404, 'NOT_FOUND')
    const after = await statusOf(h, t)
    expect(after.profileName).toBeUndefined()
    expect(after.pictureUrl).toBeUndefined()
  })

  it.each([
    ['a text served as a PNG', 'notImage' as const],
    ['a picture over 1 MiB', 'oversized' as const],
    ['a plain-http picture URL', 'http' as const],
    ['no picture at all', 'none' as const],
  ])('%s: the name, no picture, and the status is fine', async (_label, avatar) => {
    const t = await newTenant()
    const name = `Sans Photo ${avatar}`
    const { calls } = await linkWithProfile(
      t,
      `+3361234${String(1000 + ['notImage', 'oversized', 'http', 'none'].indexOf(avatar) * 11)}`,
      {
        name,
        avatar,
      },
    )
    const s = await eventually(async () => {
      const s = await statusOf(h, t)
      expect(s).toMatchObject({ connected: true, status: 'authorized', profileName: name })
      return s
    })
    expect(s.pictureUrl).toBeUndefined()
    expect(calls('getContactInfo')).toBe(1)
    // A plain-http URL is refused before any request leaves; the others were fetched and refused.
    expect(calls('simAvatar')).toBe(avatar === 'http' || avatar === 'none' ? 0 : 1)
    await expectError(await get(h, '/api/wa/profile-picture', t), 404, 'NOT_FOUND')
    expect(
      await testDb().selectFrom('wa_profile_pictures').select('tenant_id').where('tenant_id', '=', t.tenantId).execute(),
    ).toEqual([])
  })

  it('refreshed at most daily: reconciles within the day ask nothing; a day-old profile is fetched again', async () => {
    const t = await newTenant()
    const { instanceId, calls } = await linkWithProfile(t, '+33612340077', { name: 'Premier Nom', avatar: 'image' })
    await eventually(async () => expect(await statusOf(h, t)).toMatchObject({ profileName: 'Premier Nom' }))
    const checksBefore = h.sim.callCount({ instanceId, method: 'getStateInstance' })

    // Several reconciles (one a second) go by: the state is checked, the profile is not asked again.
    h.sim.setProfile(instanceId, { name: 'Nouveau Nom' })
    await eventually(
      async () => expect(h.sim.callCount({ instanceId, method: 'getStateInstance' })).toBeGreaterThanOrEqual(checksBefore + 3),
      10_000,
    )
    expect(calls('getContactInfo')).toBe(1)
    expect((await statusOf(h, t)).profileName).toBe('Premier Nom')

    // A day later (the stored fetch time moved back): the next reconcile fetches it again, once.
    await testDb()
      .updateTable('tenant_provider_configs')
      .set({ profile_fetched_at: new Date(Date.now() - 25 * 3600_000) })
      .where('tenant_id', '=', t.tenantId)
      .execute()
    await eventually(async () => expect(await statusOf(h, t)).toMatchObject({ profileName: 'Nouveau Nom' }), 10_000)
    expect(calls('getContactInfo')).toBe(2)
    const checksNow = h.sim.callCount({ instanceId, method: 'getStateInstance' })
    await eventually(
      async () => expect(h.sim.callCount({ instanceId, method: 'getStateInstance' })).toBeGreaterThanOrEqual(checksNow + 2),
      10_000,
    )
    expect(calls('getContactInfo')).toBe(2)
  })
  it('a failing lookup is tried again in an hour, not at each reconcile (decision 269)', async () => {
    const t = await newTenant()
    const res = await post(h, '/api/wa/qr/generate', t)
    const { instanceId, nonce } = await scanTarget(((await res.json()) as { qrCode: string }).qrCode)
    const before = h.sim.callCount({ instanceId, method: 'getContactInfo' })
    const lookups = () => h.sim.callCount({ instanceId, method: 'getContactInfo' }) - before
    h.sim.setProfile(instanceId, { name: 'Nom Retardé', avatar: 'none' })
    const clear = h.sim.fault({ instanceId, methods: ['getContactInfo'] }).down(500)
    expect(h.sim.scan(instanceId, nonce, '+33612340099')).toMatchObject({ ok: true })
    // The job's try (the client's own retries of a read included) ends by scheduling the next in an hour.
    const retryScheduled = async () => {
      const { rows } = await sql<{ n: string }>`select count(*) as n from graphile_worker._private_jobs
        where key = ${`wa-profile:${t.tenantId}`} and run_at > now() + interval '50 minutes'`.execute(testDb())
      return Number(rows[0]!.n)
    }
    await eventually(async () => expect(await retryScheduled()).toBe(1), 10_000)
    const tried = lookups()
    expect(tried).toBeGreaterThanOrEqual(1)

    // Reconciles (one a second) go by: the state is checked, the lookup is not asked again.
    const checksBefore = h.sim.callCount({ instanceId, method: 'getStateInstance' })
    await eventually(
      async () => expect(h.sim.callCount({ instanceId, method: 'getStateInstance' })).toBeGreaterThanOrEqual(checksBefore + 3),
      10_000,
    )
    expect(lookups()).toBe(tried)
    expect(await retryScheduled()).toBe(1)
    expect((await statusOf(h, t)).profileName).toBeUndefined()

    // An hour later (the scheduled retry moved to now), upstream answers again: fetched once more.
    clear()
    await sql`update graphile_worker._private_jobs set run_at = now() where key = ${`wa-profile:${t.tenantId}`}`.execute(testDb())
    await eventually(async () => expect(await statusOf(h, t)).toMatchObject({ profileName: 'Nom Retardé' }), 10_000)
    expect(lookups()).toBe(tried + 1)
  })
})
