import { beforeAll, describe, expect, it } from 'vitest'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { useWaApp } from '../utils/wa-harness'

const h = useWaApp({ instances: 4 })

const form = (cookie: string, body: Record<string, string>) => ({
  method: 'POST',
  redirect: 'manual' as const,
  headers: { cookie, origin: h.app.url, 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(body),
})

const upstreamStatus = async (id: string) =>
  (
    await h.sim.handle({
      method: 'getStateInstance',
      httpMethod: 'GET',
      instanceId: id,
      token: h.sim.instance(id)!.apiToken,
      body: undefined,
    })
  ).status

// The page shows HTML ids inside attributes too; match the id as a whole token, not a prefix.
const mentions = (html: string, id: string) => new RegExp(`(^|\\D)${id}(\\D|$)`).test(html)

/**
 * Tenant A (macrea) holds the instance its QR claimed; tenant B (test_tenant_blocked) holds
 * another one; the rest are free. Set up once: the claims are what the page is scoped by.
 */
let mine: string
let theirs: string
let free: string[]
beforeAll(async () => {
  // `upstreamStatus` asks the simulator directly, several times per test: Green-API's own
  // per-instance request rate would answer 429 and hide whether a fault is in place.
  h.sim.setRateLimitsEnabled(false)
  const gen = await h.api('/api/wa/qr/generate', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
  expect(gen.status).toBe(200)
  mine = (await testDb().selectFrom('wa_instances').select('id').where('tenant_id', '=', 'macrea').executeTakeFirstOrThrow()).id
  // Tenant B's WhatsApp add-on is off in the seed, so its claim is written as the allocator would.
  const other = await testDb()
    .selectFrom('wa_instances')
    .select('id')
    .where('tenant_id', 'is', null)
    .orderBy('id')
    .executeTakeFirstOrThrow()
  await testDb()
    .updateTable('wa_instances')
    .set({ tenant_id: 'test_tenant_blocked', claimed_at: new Date() })
    .where('id', '=', other.id)
    .execute()
  theirs = other.id
  free = h.sim
    .listInstances()
    .map((i) => i.instanceId)
    .filter((id) => id !== mine && id !== theirs)
  expect(free.length).toBeGreaterThanOrEqual(1)
})

// The /dev/simulator page lets a person drive their own tenant's UI states by hand (simulator
// mode only); operators drive the rest with `npm run ops -- instances …` (issue 13).
describe('/dev/simulator control page', () => {
  it("shows an owner only their tenant's instance, never another tenant's nor the free ones, never tokens", async () => {
    const cookie = await sessionCookie(testDb(), h.users.owner)
    const res = await fetch(`${h.app.url}/dev/simulator`, { headers: { cookie } })
    expect(res.status).toBe(200)
    // The app's own policy (server/security-headers.ts): its stylesheet from 'self' is allowed.
    expect(res.headers.get('content-security-policy')).toMatch(/style-src 'self'/)
    const html = await res.text()
    expect(mentions(html, mine)).toBe(true)
    expect(mentions(html, theirs)).toBe(false)
    for (const id of free) expect(mentions(html, id)).toBe(false)
    for (const i of h.sim.listInstances()) expect(html).not.toContain(i.apiToken)
  })

  it("tells an owner whose tenant holds no instance how to get one, and lists nobody else's", async () => {
    const cookie = await sessionCookie(testDb(), h.users.foreignOwner)
    // Tenant B without its claim: nothing of its own to drive.
    await testDb().updateTable('wa_instances').set({ tenant_id: null, claimed_at: null }).where('id', '=', theirs).execute()
    try {
      const res = await fetch(`${h.app.url}/dev/simulator`, { headers: { cookie } })
      expect(res.status).toBe(200)
      const html = await res.text()
      expect(html).toContain('Aucune instance')
      for (const i of h.sim.listInstances()) expect(mentions(html, i.instanceId)).toBe(false)
    } finally {
      await testDb()
        .updateTable('wa_instances')
        .set({ tenant_id: 'test_tenant_blocked', claimed_at: new Date() })
        .where('id', '=', theirs)
        .execute()
    }
  })

  it('puts its own instance into yellowCard and injects then clears a fault on it', async () => {
    const cookie = await sessionCookie(testDb(), h.users.owner)
    const res = await fetch(
      `${h.app.url}/dev/simulator`,
      form(cookie, { intent: 'state', instanceId: mine, state: 'yellowCard' }),
    )
    expect(res.status).toBe(302)
    expect(h.sim.instance(mine)?.state).toBe('yellowCard')

    await fetch(`${h.app.url}/dev/simulator`, form(cookie, { intent: 'fault', instanceId: mine, fault: 'down' }))
    expect(await upstreamStatus(mine)).toBeGreaterThanOrEqual(500)
    await fetch(`${h.app.url}/dev/simulator`, form(cookie, { intent: 'clear' }))
    expect(await upstreamStatus(mine)).toBe(200)
  })

  it("refuses every intent naming another tenant's instance (or a free or unknown one) and changes nothing", async () => {
    const cookie = await sessionCookie(testDb(), h.users.owner)
    const intents = (target: string): Array<Record<string, string>> => [
      { intent: 'state', instanceId: target, state: 'blocked' },
      { intent: 'state', instanceId: target, state: 'authorized' },
      { intent: 'fault', instanceId: target, fault: 'down' },
    ]
    for (const target of [theirs, free[0]!, '999999999999']) {
      const before = h.sim.instance(target)?.state
      for (const body of intents(target)) {
        // The no-JavaScript form post: the page again, with the 403 and a clear message.
        const page = await fetch(`${h.app.url}/dev/simulator`, form(cookie, body))
        expect(page.status, `${body.intent} ${target}`).toBe(403)
        expect(await page.text()).toContain('n’appartient pas à votre compte')
        // The same POST as the Remix client sends it (fetcher / <Form> with JS): the envelope.
        const data = await fetch(`${h.app.url}/dev/simulator?_data=routes%2Fdev.simulator`, form(cookie, body))
        expect(data.status).toBe(403)
        expect(await data.json()).toEqual({ ok: false, error: 'TENANT_FORBIDDEN', message: expect.any(String) })
      }
      expect(h.sim.instance(target)?.state).toBe(before)
      if (h.sim.instance(target)) expect(await upstreamStatus(target)).toBe(200)
    }
    // A fault without an instance (the simulator's global scope) used to break every tenant's.
    const global = await fetch(
      `${h.app.url}/dev/simulator?_data=routes%2Fdev.simulator`,
      form(cookie, { intent: 'fault', instanceId: '', fault: 'down' }),
    )
    expect(global.status).toBe(400)
    expect(await global.json()).toMatchObject({ ok: false, error: 'VALIDATION_FAILED' })
    expect(await upstreamStatus(theirs)).toBe(200)
    expect(await upstreamStatus(mine)).toBe(200)
  })

  it("clears only its own instance's faults, not another tenant's", async () => {
    const cookie = await sessionCookie(testDb(), h.users.owner)
    // An operator (or tenant B) broke B's instance; A's "clear all" must not undo it.
    h.sim.fault({ instanceId: theirs }).down(503)
    try {
      const res = await fetch(`${h.app.url}/dev/simulator`, form(cookie, { intent: 'clear' }))
      expect(res.status).toBe(302)
      expect(await upstreamStatus(theirs)).toBeGreaterThanOrEqual(500)
    } finally {
      h.sim.clearFaults(theirs)
    }
  })

  it('receives a message from a contact on its own linked phone: incomingMessageReceived reaches the app', async () => {
    const cookie = await sessionCookie(testDb(), h.users.owner)
    const page = await fetch(`${h.app.url}/dev/simulator`, { headers: { cookie } })
    const html = await page.text()
    // The no-JavaScript form: a plain POST to /dev/simulator/incoming with from and text.
    expect(html).toMatch(/<form[^>]*method="post"[^>]*action="\/dev\/simulator\/incoming"/)
    expect(html).toMatch(/<input[^>]*name="from"/)
    expect(html).toMatch(/<textarea[^>]*name="text"/)

    // Not linked yet: the page again with a 409 and nothing sent.
    h.sim.setState(mine, 'notAuthorized')
    const before = h.sim.webhookLog.length
    const refused = await fetch(`${h.app.url}/dev/simulator/incoming`, form(cookie, { from: '+33698765432', text: 'Allô ?' }))
    expect(refused.status).toBe(409)
    expect(await refused.text()).toContain('n’est pas lié')

    h.sim.authorize(mine, '+33612345678')
    await h.sim.flushWebhooks()
    const bad = await fetch(`${h.app.url}/dev/simulator/incoming`, form(cookie, { from: '0698', text: 'x' }))
    expect(bad.status).toBe(400)
    expect(await bad.text()).toContain('Formulaire invalide')
    const res = await fetch(`${h.app.url}/dev/simulator/incoming`, form(cookie, { from: '+33698765432', text: 'Bonjour !' }))
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/dev/simulator?incoming=sent')
    const incoming = h.sim.webhookLog
      .slice(before)
      .filter((d) => (d.body as { typeWebhook: string }).typeWebhook === 'incomingMessageReceived')
    expect(incoming).toEqual([
      expect.objectContaining({
        url: expect.stringMatching(new RegExp(`^http://[^/]+/api/wa/webhooks/green-api/${mine}$`)),
        body: expect.objectContaining({
          instanceData: expect.objectContaining({ idInstance: Number(mine) }),
          senderData: expect.objectContaining({ chatId: '33698765432@c.us' }),
          messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: 'Bonjour !' } },
        }),
      }),
    ])
    const after = await fetch(`${h.app.url}${res.headers.get('location')}`, { headers: { cookie } })
    expect(await after.text()).toContain('transmis à l’application')

    // An instance set up before incoming notifications existed: the page says nobody was told.
    await h.sim.handle({
      method: 'setSettings',
      httpMethod: 'POST',
      instanceId: mine,
      token: h.sim.instance(mine)!.apiToken,
      body: { incomingWebhook: 'no' },
    })
    h.sim.authorize(mine, '+33612345678')
    await h.sim.flushWebhooks()
    const quiet = await fetch(`${h.app.url}/dev/simulator/incoming`, form(cookie, { from: '+33698765432', text: 'Allô' }))
    expect(quiet.headers.get('location')).toBe('/dev/simulator?incoming=unnotified')
    const told = await fetch(`${h.app.url}/dev/simulator?incoming=unnotified`, { headers: { cookie } })
    expect(await told.text()).toContain('incomingWebhook désactivé')
  })

  it('is refused to members and to anonymous visitors', async () => {
    const member = await sessionCookie(testDb(), h.users.member)
    expect((await fetch(`${h.app.url}/dev/simulator`, { headers: { cookie: member } })).status).toBe(403)
    const anon = await fetch(`${h.app.url}/dev/simulator`, { redirect: 'manual' })
    expect(anon.status).toBe(302)
    expect(anon.headers.get('location')).toContain('/login')
    const before = h.sim.webhookLog.length
    const memberPost = await fetch(`${h.app.url}/dev/simulator/incoming`, form(member, { from: '+33698765432', text: 'x' }))
    expect(memberPost.status).toBe(403)
    const anonPost = await fetch(`${h.app.url}/dev/simulator/incoming`, form('', { from: '+33698765432', text: 'x' }))
    expect(anonPost.status).toBe(302)
    expect(h.sim.webhookLog.length).toBe(before)
  })
})
