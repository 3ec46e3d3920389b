import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { GraphileJobQueue } from '../../adapters/queue/graphile-job-queue'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { expectError, linkByScan, newTenant, post, providerRow, statusOf } from './api-support'

// Partner mode (issue #16, decision 211): "Déconnecter" logs the phone out and keeps the tenant's
// instance for a new link; "Supprimer le numéro" (POST /api/wa/delete-instance) deletes it at
// Green-API (deleteInstanceAccount: its billing stops) and every credential stored for it.
const h = useWaApp({ partner: true })
const db = testDb()

const instancesOf = (tenantId: string) => db.selectFrom('wa_instances').selectAll().where('tenant_id', '=', tenantId).execute()

async function auditActions(tenantId: string) {
  return db
    .selectFrom('audit_log')
    .select(['action', 'outcome'])
    .where('tenant_id', '=', tenantId)
    .where('action', 'in', ['whatsapp.disconnect', 'whatsapp.delete_instance'])
    .orderBy('id')
    .execute()
}

describe('partner mode: disconnect and delete are two different things', () => {
  it('disconnect keeps the instance (relink reuses it); delete removes it upstream and locally; relink creates a new one', async () => {
    const t = await newTenant()
    const first = await linkByScan(h, t, '+33620000001')
    const created = h.sim.callCount({ method: 'createInstance' })

    // Déconnecter: logout, no deleteInstanceAccount, the instance stays the tenant's.
    expect((await post(h, '/api/wa/disconnect', t)).status).toBe(200)
    expect(h.sim.callCount({ instanceId: first, method: 'logout' })).toBe(1)
    expect(h.sim.callCount({ method: 'deleteInstanceAccount' })).toBe(0)
    expect(await providerRow(t.tenantId)).toBeUndefined()
    expect((await instancesOf(t.tenantId)).map((i) => i.id)).toEqual([first])
    expect(await statusOf(h, t)).toMatchObject({ connected: false, status: 'notAuthorized' })

    // The number can be linked again, on the same instance.
    expect(await linkByScan(h, t, '+33620000001')).toBe(first)
    expect(h.sim.callCount({ method: 'createInstance' })).toBe(created)

    // Supprimer le numéro: logout, deleteInstanceAccount, provider row and instance row gone.
    const del = await post(h, '/api/wa/delete-instance', t)
    expect(del.status, await del.clone().text()).toBe(200)
    expect(await del.json()).toMatchObject({ ok: true, alreadyDeleted: false })
    expect(h.sim.callCount({ instanceId: first, method: 'logout' })).toBe(2)
    expect(h.sim.callCount({ method: 'deleteInstanceAccount' })).toBe(1)
    expect(h.sim.instance(first)?.deleted).toBe(true)
    expect(await providerRow(t.tenantId)).toBeUndefined()
    expect(await db.selectFrom('wa_instances').select('id').where('id', '=', first).execute()).toEqual([])
    expect(await statusOf(h, t)).toMatchObject({ connected: false, status: 'notAuthorized' })

    // Idempotent: nothing left, nothing called.
    const again = await post(h, '/api/wa/delete-instance', t)
    expect(await again.json()).toMatchObject({ ok: true, alreadyDeleted: true })
    expect(h.sim.callCount({ method: 'deleteInstanceAccount' })).toBe(1)

    // Linking again creates a brand-new instance.
    const second = await linkByScan(h, t, '+33620000001')
    expect(second).not.toBe(first)
    expect(h.sim.callCount({ method: 'createInstance' })).toBe(created + 1)
    expect(await auditActions(t.tenantId)).toEqual([
      { action: 'whatsapp.disconnect', outcome: 'success' },
      { action: 'whatsapp.delete_instance', outcome: 'success' },
      { action: 'whatsapp.delete_instance', outcome: 'success' },
    ])
  })

  it('a failed upstream delete removes nothing locally (503), and the retry completes', async () => {
    const t = await newTenant()
    const id = await linkByScan(h, t, '+33620000002')
    const restore = h.sim.fault({ methods: ['deleteInstanceAccount'] }).down(503)
    await expectError(await post(h, '/api/wa/delete-instance', t), 503, 'UPSTREAM_UNAVAILABLE')
    expect((await instancesOf(t.tenantId)).map((i) => i.id)).toEqual([id])
    restore()
    expect((await post(h, '/api/wa/delete-instance', t)).status).toBe(200)
    expect(await instancesOf(t.tenantId)).toEqual([])
    expect(h.sim.instance(id)?.deleted).toBe(true)
  })

  it('members cannot delete', async () => {
    const m = await newTenant({ role: 'member' })
    await expectError(await post(h, '/api/wa/delete-instance', m), 403, 'FORBIDDEN_ROLE')
  })
})

describe('the settings page in partner mode (no JavaScript)', () => {
  it('states what each action does, requires the checkbox to delete, and deletes', async () => {
    const t = await newTenant()
    const id = await linkByScan(h, t, '+33620000003')
    const cookie = await sessionCookie(db, t.userId)
    const page = (query = '', lang = 'fr') =>
      fetch(`${h.app.url}/settings/whatsapp${query}`, { headers: { cookie, 'accept-language': lang } }).then((r) => r.text())
    const form = (fields: Record<string, string>) =>
      fetch(`${h.app.url}/settings/whatsapp`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin: new URL(h.app.url).origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
      })

    const connected = await page()
    expect(connected).toContain('Supprimer le numéro')
    expect(connected).toContain('name="confirm" value="delete-number"')
    // The disconnect confirmation says the instance (and its billing) stays.
    expect(await page('?confirm=disconnect')).toContain('reste réservée à votre compte (et facturée chaque jour)')
    const confirm = await page('?confirm=delete-number', 'en')
    expect(confirm).toContain('its daily billing stops')
    expect(confirm).toContain('name="understood"')
    expect(confirm).toContain('name="intent" value="delete-number"')

    // Without the checkbox: refused, nothing deleted.
    const unticked = await form({ intent: 'delete-number' })
    expect(unticked.status).toBe(400)
    expect(h.sim.callCount({ instanceId: id, method: 'logout' })).toBe(0)
    expect(await instancesOf(t.tenantId)).toHaveLength(1)

    const done = await form({ intent: 'delete-number', understood: 'yes' })
    expect(done.status).toBe(302)
    expect(h.sim.instance(id)?.deleted).toBe(true)
    expect(await instancesOf(t.tenantId)).toEqual([])
    // Nothing left to delete: the page offers linking, not deleting.
    expect(await page()).not.toContain('value="delete-number"')
  })
})

describe('the add-on ends in partner mode', () => {
  it('after the grace the job deletes the instance (its billing stops), as system:billing', async () => {
    const t = await newTenant()
    const id = await linkByScan(h, t, '+33620000004')
    await db.updateTable('tenant_features').set({ whatsapp_enabled: false }).where('tenant_id', '=', t.tenantId).execute()
    await sql`update tenant_features set whatsapp_ended_at = now() - make_interval(days => 8)
              where tenant_id = ${t.tenantId}`.execute(db)
    await new GraphileJobQueue(db).enqueue('wa.unlink-after-addon-end', {}, { key: 'test-partner-unlink-after-addon-end' })
    await eventually(async () => expect(h.sim.instance(id)?.deleted).toBe(true), 20_000)
    await eventually(async () => expect(await instancesOf(t.tenantId)).toEqual([]))
    expect(await providerRow(t.tenantId)).toBeUndefined()
    const audit = await db
      .selectFrom('audit_log')
      .select(['actor', 'action', 'outcome'])
      .where('tenant_id', '=', t.tenantId)
      .where('action', '=', 'whatsapp.delete_instance')
      .execute()
    expect(audit).toEqual([{ actor: 'system:billing', action: 'whatsapp.delete_instance', outcome: 'success' }])
  })
})
