import { describe, expect, it } from 'vitest'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { useWaApp } from '../utils/wa-harness'

const h = useWaApp({ instances: 3 })

const form = (cookie: string, body: Record<string, string>) => ({
  method: 'POST',
  redirect: 'manual' as const,
  headers: { cookie, origin: h.app.url, 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(body),
})

// The /dev/simulator page lets a person drive every UI state by hand (simulator mode only).
describe('/dev/simulator control page', () => {
  it('lists the simulated instances to an owner, never their tokens, with the app stylesheet allowed', async () => {
    const cookie = await sessionCookie(testDb(), h.users.owner)
    const res = await fetch(`${h.app.url}/dev/simulator`, { headers: { cookie } })
    expect(res.status).toBe(200)
    // The app's own policy (server/security-headers.ts): its stylesheet from 'self' is allowed.
    expect(res.headers.get('content-security-policy')).toMatch(/style-src 'self'/)
    const html = await res.text()
    const instances = h.sim.listInstances()
    expect(instances.length).toBeGreaterThanOrEqual(3)
    for (const i of instances) {
      expect(html).toContain(i.instanceId)
      expect(html).not.toContain(i.apiToken)
    }
  })

  it('puts an instance into yellowCard and injects then clears a fault', async () => {
    const cookie = await sessionCookie(testDb(), h.users.owner)
    const id = h.sim.listInstances()[0]!.instanceId
    const res = await fetch(`${h.app.url}/dev/simulator`, form(cookie, { intent: 'state', instanceId: id, state: 'yellowCard' }))
    expect(res.status).toBe(302)
    expect(h.sim.instance(id)?.state).toBe('yellowCard')

    await fetch(`${h.app.url}/dev/simulator`, form(cookie, { intent: 'fault', instanceId: id, fault: 'down' }))
    const down = await h.sim.handle({ method: 'getStateInstance', httpMethod: 'GET', instanceId: id, token: h.sim.instance(id)!.apiToken, body: undefined })
    expect(down.status).toBeGreaterThanOrEqual(500)
    await fetch(`${h.app.url}/dev/simulator`, form(cookie, { intent: 'clear' }))
    const up = await h.sim.handle({ method: 'getStateInstance', httpMethod: 'GET', instanceId: id, token: h.sim.instance(id)!.apiToken, body: undefined })
    expect(up.status).toBe(200)
  })

  it('is refused to members and to anonymous visitors', async () => {
    const member = await sessionCookie(testDb(), h.users.member)
    expect((await fetch(`${h.app.url}/dev/simulator`, { headers: { cookie: member } })).status).toBe(403)
    const anon = await fetch(`${h.app.url}/dev/simulator`, { redirect: 'manual' })
    expect(anon.status).toBe(302)
    expect(anon.headers.get('location')).toContain('/login')
  })
})
