import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { newTenant } from './api-support'
import { messageEvent, startReceiver, testEventSink, type Receiver } from './webhook-support'

/**
 * /settings/webhooks without JavaScript: plain form posts with the session cookie (same origin),
 * HTML answers. Owners/admins only; the secret appears in the create answer and nowhere after.
 */
const h = useWaApp()
let rx: Receiver
beforeAll(async () => {
  rx = await startReceiver()
})
afterAll(async () => {
  await rx?.close()
})

async function page(cookie: string) {
  return fetch(`${h.app.url}/settings/webhooks`, { headers: { cookie, 'accept-language': 'en' } })
}
async function submit(cookie: string, fields: Record<string, string | string[]>) {
  const body = new URLSearchParams()
  for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) body.append(k, one)
  return fetch(`${h.app.url}/settings/webhooks`, {
    method: 'POST',
    headers: { cookie, origin: h.app.url, 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en' },
    body,
  })
}
const decode = (html: string) => html.replaceAll('&amp;', '&').replaceAll('&#x27;', "'").replaceAll('&quot;', '"')

describe('the CRM webhooks page', () => {
  it('creates an endpoint (secret shown once), lists it with its deliveries, resends, rotates and deletes', async () => {
    const owner = await newTenant()
    const cookie = await sessionCookie(testDb(), owner.userId)
    const empty = await page(cookie)
    expect(empty.status).toBe(200)
    const emptyHtml = await empty.text()
    expect(emptyHtml).toContain('CRM webhooks')
    expect(emptyHtml).toContain('No endpoint yet.')
    expect(emptyHtml).toContain('href="/settings/webhooks"')

    const refused = await submit(cookie, { intent: 'create', url: 'ftp://crm.example.com/x' })
    expect(refused.status).toBe(400)
    expect(decode(await refused.text())).toContain('invalid_url: ')

    const created = await submit(cookie, { intent: 'create', url: rx.url('/page'), events: ['whatsapp.message.received'] })
    expect(created.status).toBe(201)
    const createdHtml = decode(await created.text())
    const secret = /value="(whsec_[A-Za-z0-9+/=]+)"/.exec(createdHtml)?.[1]
    expect(secret).toBeDefined()
    expect(createdHtml).toContain('it will never be shown again')

    await testEventSink().emit(owner.tenantId, messageEvent('from the page test'))
    await eventually(async () => expect(rx.on('/page')).toHaveLength(1), 20_000)
    expect(new Webhook(secret!).verify(rx.on('/page')[0]!.body, rx.on('/page')[0]!.headers)).toMatchObject({
      type: 'whatsapp.message.received',
    })
    const listed = await eventually(async () => {
      const html = decode(await (await page(cookie)).text())
      expect(html).toContain('delivered')
      return html
    }, 20_000)
    expect(listed).toContain(rx.url('/page'))
    expect(listed).toContain('Message received')
    expect(listed).not.toContain(secret!)

    const endpoint = await testDb()
      .selectFrom('wa_webhook_endpoints')
      .select('id')
      .where('tenant_id', '=', owner.tenantId)
      .executeTakeFirstOrThrow()
    const delivery = await testDb()
      .selectFrom('wa_webhook_deliveries')
      .select('id')
      .where('endpoint_id', '=', endpoint.id)
      .executeTakeFirstOrThrow()
    const resent = await submit(cookie, { intent: 'resend', deliveryId: delivery.id })
    expect(resent.status).toBe(200)
    expect(await resent.text()).toContain('Delivery resent')
    await eventually(async () => expect(rx.on('/page')).toHaveLength(2), 20_000)

    const rotated = await submit(cookie, { intent: 'rotate', endpointId: endpoint.id })
    const rotatedHtml = decode(await rotated.text())
    const newSecret = /value="(whsec_[A-Za-z0-9+/=]+)"/.exec(rotatedHtml)?.[1]
    expect(newSecret).toBeDefined()
    expect(newSecret).not.toBe(secret)

    const deleted = await submit(cookie, { intent: 'delete', endpointId: endpoint.id })
    expect(deleted.status).toBe(200)
    expect(await deleted.text()).toContain('Endpoint deleted.')
    expect(
      await testDb().selectFrom('wa_webhook_endpoints').select('id').where('tenant_id', '=', owner.tenantId).execute(),
    ).toEqual([])
  }, 60_000)

  it('shows why an endpoint was disabled', async () => {
    const owner = await newTenant()
    const cookie = await sessionCookie(testDb(), owner.userId)
    expect((await submit(cookie, { intent: 'create', url: rx.url('/disabled') })).status).toBe(201)
    await testDb()
      .updateTable('wa_webhook_endpoints')
      .set({ enabled: false, disabled_at: new Date('2026-12-03T10:00:00Z'), disabled_reason: 'retries_exhausted' })
      .where('tenant_id', '=', owner.tenantId)
      .execute()
    const html = decode(await (await page(cookie)).text())
    expect(html).toContain('Disabled on')
    expect(html).toContain('deliveries failed for 24 h')
  })

  it('members get a 403 page and no navigation link', async () => {
    const member = await newTenant({ role: 'member' })
    const cookie = await sessionCookie(testDb(), member.userId)
    expect((await page(cookie)).status).toBe(403)
    expect((await submit(cookie, { intent: 'create', url: rx.url('/member') })).status).toBe(403)
    const other = await fetch(`${h.app.url}/settings/api-tokens`, { headers: { cookie } })
    expect(await other.text()).not.toContain('href="/settings/webhooks"')
  })
})
