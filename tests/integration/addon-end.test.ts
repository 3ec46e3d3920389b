import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { GraphileJobQueue } from '../../adapters/queue/graphile-job-queue'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { expectError, get, instanceRow, linkByScan, newTenant, post, providerRow } from './api-support'

// WhatsApp Pro switched off while a number is linked (issue #16, decision 169): links refused,
// disconnect still allowed, and after the grace the scheduled job unlinks the number as
// system:billing; switched back on within the grace, nothing is lost. Time is moved by dating
// the add-on's end back in its row (the job compares it with now), never by waiting.
const h = useWaApp({ instances: 4 })
const db = testDb()

async function switchWhatsApp(tenantId: string, on: boolean) {
  await db.updateTable('tenant_features').set({ whatsapp_enabled: on }).where('tenant_id', '=', tenantId).execute()
}

async function endedAt(tenantId: string): Promise<Date | null> {
  const row = await db
    .selectFrom('tenant_features')
    .select('whatsapp_ended_at')
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow()
  return row.whatsapp_ended_at
}

/** Dates the add-on's end `days` ago. */
async function endedDaysAgo(tenantId: string, days: number) {
  await sql`update tenant_features set whatsapp_ended_at = now() - make_interval(days => ${days})
            where tenant_id = ${tenantId}`.execute(db)
}

/** Runs the scheduled job now (as its crontab line would) and waits until graphile-worker finished it. */
async function runUnlinkJob() {
  await new GraphileJobQueue(db).enqueue('wa.unlink-after-addon-end', {}, { key: 'test-unlink-after-addon-end' })
  await eventually(async () => {
    const r = await sql<{ n: string }>`select count(*)::text as n from graphile_worker.jobs
                                       where task_identifier = 'wa:unlink-after-addon-end'`.execute(db)
    expect(r.rows[0]!.n).toBe('0')
    // 20 s: the job waits for a free worker slot and does a logout upstream; under a loaded full
    // run 5 s was once too short. A failing job stays in the table (retried): still a failure.
  }, 20_000)
}

describe('the add-on ends while a number is linked', () => {
  it('refuses new links, allows disconnect, and the job unlinks the number only after the grace, as system:billing', async () => {
    const t = await newTenant()
    const instanceId = await linkByScan(h, t, '+33611112222')
    await switchWhatsApp(t.tenantId, false)
    expect(await endedAt(t.tenantId)).toBeInstanceOf(Date)
    await expectError(await post(h, '/api/wa/qr/generate', t), 403, 'WHATSAPP_DISABLED')

    // Within the grace (6 days): the job leaves it linked, and the status says until when.
    await endedDaysAgo(t.tenantId, 6)
    await runUnlinkJob()
    expect(await providerRow(t.tenantId)).toMatchObject({ connection_status: 'authorized' })
    expect(h.sim.instance(instanceId)!.state).toBe('authorized')
    const during = await get(h, '/api/wa/qr/status', t)
    expect(during.status).toBe(200)
    const body = (await during.json()) as { connected: boolean; addonEndedAt: string; unlinkAt: string }
    expect(body).toMatchObject({ connected: true, status: 'authorized' })
    const ended = (await endedAt(t.tenantId))!
    expect(body.addonEndedAt).toBe(ended.toISOString())
    expect(Date.parse(body.unlinkAt) - ended.getTime()).toBe(7 * 86_400_000)

    // Past the grace (8 days): logged out upstream, row gone, instance released, audited.
    await endedDaysAgo(t.tenantId, 8)
    await runUnlinkJob()
    expect(await providerRow(t.tenantId)).toBeUndefined()
    expect((await instanceRow(instanceId)).tenant_id).toBeNull()
    expect(h.sim.instance(instanceId)!.state).toBe('notAuthorized')
    const audit = await db
      .selectFrom('audit_log')
      .select(['actor', 'action', 'outcome'])
      .where('tenant_id', '=', t.tenantId)
      .where('action', '=', 'whatsapp.disconnect')
      .execute()
    expect(audit).toEqual([{ actor: 'system:billing', action: 'whatsapp.disconnect', outcome: 'success' }])
    // Nothing linked any more: the status is the add-on's 403 again.
    await expectError(await get(h, '/api/wa/qr/status', t), 403, 'WHATSAPP_DISABLED')
  })

  it('disconnect stays allowed while the add-on is off', async () => {
    const t = await newTenant()
    const instanceId = await linkByScan(h, t, '+33633334444')
    await switchWhatsApp(t.tenantId, false)
    const res = await post(h, '/api/wa/disconnect', t)
    expect(res.status).toBe(200)
    expect(await providerRow(t.tenantId)).toBeUndefined()
    expect((await instanceRow(instanceId)).tenant_id).toBeNull()
  })

  it('switched back on within the grace: the end is forgotten and the number stays linked', async () => {
    const t = await newTenant()
    const instanceId = await linkByScan(h, t, '+33655556666')
    await switchWhatsApp(t.tenantId, false)
    await endedDaysAgo(t.tenantId, 3)
    await switchWhatsApp(t.tenantId, true)
    expect(await endedAt(t.tenantId)).toBeNull()
    await runUnlinkJob()
    expect(await providerRow(t.tenantId)).toMatchObject({ connection_status: 'authorized' })
    expect(h.sim.instance(instanceId)!.state).toBe('authorized')
  })
})

describe('the settings page during the grace (no JavaScript)', () => {
  it('says when the add-on ended and when the number goes, and its disconnect button works', async () => {
    const t = await newTenant()
    await linkByScan(h, t, '+33677778888')
    await switchWhatsApp(t.tenantId, false)
    const cookie = await sessionCookie(db, t.userId)
    const page = await fetch(`${h.app.url}/settings/whatsapp`, { headers: { cookie, 'accept-language': 'en' } })
    expect(page.status).toBe(200)
    const html = await page.text()
    const unlink = new Date(Date.parse((await endedAt(t.tenantId))!.toISOString()) + 7 * 86_400_000)
    const day = unlink.toLocaleDateString('en-GB', { timeZone: 'UTC', dateStyle: 'long' })
    expect(html).toContain(`The number +33677778888 stays linked until ${day}`)
    // The confirmation step, then the disconnect itself: plain form posts.
    const confirm = await fetch(`${h.app.url}/settings/whatsapp?confirm=disconnect`, { headers: { cookie } })
    expect(await confirm.text()).toContain('name="intent" value="disconnect"')
    const off = await fetch(`${h.app.url}/settings/whatsapp`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: new URL(h.app.url).origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ intent: 'disconnect' }),
    })
    expect(off.status).toBe(302)
    expect(await providerRow(t.tenantId)).toBeUndefined()
    // Nothing left to unlink: the page is the upsell alone.
    const after = await (await fetch(`${h.app.url}/settings/whatsapp`, { headers: { cookie, 'accept-language': 'en' } })).text()
    expect(after).not.toContain('stays linked until')
  })
})
