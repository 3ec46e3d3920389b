import http from 'node:http'
import v8 from 'node:v8'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { addMember, createTenant, createUser } from '../factories'
import { signHs } from '../utils/auth-fixtures'
import { eventually, useWaApp } from '../utils/wa-harness'
import { expectError } from './api-support'

/**
 * Issue 13: `GET /api/wa/events` streams end when their client goes away, even after a garbage
 * collection (Remix's derived request signal dies with its WeakRef), and are capped per user,
 * per tenant and per client IP. TRUST_PROXY=1 lets each stream name its IP in X-Forwarded-For.
 */
const h = useWaApp({ env: { SSE_MAX_PER_USER: '3', SSE_MAX_PER_TENANT: '5', SSE_MAX_PER_IP: '4', TRUST_PROXY: '1' } })

// A real collection, as in production, where the derived request (and its signal) is collected.
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

interface Actor {
  tenantId: string
  token: string
}

async function tenantWithUsers(n: number): Promise<Actor[]> {
  const tenant = await createTenant({ whatsappEnabled: true })
  const actors: Actor[] = []
  for (let i = 0; i < n; i++) {
    const user = await createUser()
    await addMember(tenant, user, i === 0 ? 'owner' : 'member')
    actors.push({ tenantId: tenant.id, token: await signHs({ sub: user.id, tenant_id: tenant.id, jti: crypto.randomUUID() }) })
  }
  return actors
}

interface OpenStream {
  status: number
  /** The first bytes of the body (the first event, or the error envelope). */
  first: string
  /** Destroys the socket, as a closed tab or a dropped network does. */
  destroy(): void
}

/** Opens a stream over a raw socket and waits for its first chunk. */
function openStream(actor: Actor, ip: string): Promise<OpenStream> {
  const url = new URL('/api/wa/events', h.app.url)
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        agent: false,
        headers: {
          authorization: `Bearer ${actor.token}`,
          'x-tenant': actor.tenantId,
          'x-forwarded-for': ip,
          accept: 'text/event-stream',
        },
      },
      (res) => {
        res.setEncoding('utf8')
        res.once('data', (chunk: string) => resolve({ status: res.statusCode ?? 0, first: chunk, destroy: () => req.destroy() }))
        res.once('error', () => {})
      },
    )
    req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)))
  })
}

function services() {
  return (globalThis as Record<symbol, any>)[Symbol.for('whatsapp-pro.services')] as {
    statusHub: { subscriberCount(): number }
    eventFanout: { size: number; tenants: number }
    metrics: { sseClients: { get(): Promise<{ values: Array<{ value: number }> }> } }
  }
}

async function gauge(): Promise<number> {
  const text = await (await fetch(`${h.app.url}/metrics`)).text()
  const m = /^wa_sse_clients (\d+)/m.exec(text)
  return m ? Number(m[1]) : Number.NaN
}

describe('GET /api/wa/events releases streams whose client went away', () => {
  it('12 streams from 4 tenants, sockets destroyed after a GC: gauge, open streams and hub subscribers are back where they were', async () => {
    const baseGauge = await gauge()
    const baseSubscribers = services().statusHub.subscriberCount()
    const baseStreams = services().eventFanout.size
    const actors = (await Promise.all([1, 2, 3, 4].map(() => tenantWithUsers(1)))).flat()
    const streams: OpenStream[] = []
    for (const [t, actor] of actors.entries()) {
      for (let i = 0; i < 3; i++) streams.push(await openStream(actor, `10.1.${t}.${i}`))
    }
    for (const s of streams) {
      expect(s.status, s.first).toBe(200)
      expect(s.first).toMatch(/^retry: \d+\nevent: status\n/)
    }
    expect(await gauge()).toBe(baseGauge + 12)
    expect(services().eventFanout.size).toBe(baseStreams + 12)
    // One hub subscription per tenant with open streams, not one per stream (decision 225).
    expect(services().statusHub.subscriberCount()).toBe(baseSubscribers + 4)

    // What a busy server does between the stream's start and the tab closing.
    gc()
    await new Promise((r) => setTimeout(r, 50))
    gc()
    for (const s of streams) s.destroy()

    await eventually(async () => {
      expect(await gauge()).toBe(baseGauge)
      expect(services().eventFanout.size).toBe(baseStreams)
      expect(services().statusHub.subscriberCount()).toBe(baseSubscribers)
    })
    // The slots are free again: the same users open streams again.
    const again = await openStream(actors[0]!, '10.1.0.0')
    expect(again.status).toBe(200)
    again.destroy()
    await eventually(async () => expect(await gauge()).toBe(baseGauge))
  })
})

describe('GET /api/wa/events keeps nothing of a closed stream', () => {
  it('the server-side responses of 12 streams, closed by their clients, are garbage-collected: no map, listener, timer or closure holds them', async () => {
    // Every response the server makes for the event streams, weakly (the test must not keep them).
    const responses: Array<WeakRef<http.ServerResponse>> = []
    const watch = (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.url?.startsWith('/api/wa/events')) responses.push(new WeakRef(res))
    }
    h.app.server.prependListener('request', watch)
    const baseStreams = services().eventFanout.size
    const actors = (await Promise.all([1, 2, 3].map(() => tenantWithUsers(2)))).flat()
    const streams: OpenStream[] = []
    try {
      for (const [t, actor] of actors.entries()) {
        for (let i = 0; i < 2; i++) streams.push(await openStream(actor, `10.4.${t}.${i}`))
      }
    } finally {
      h.app.server.off('request', watch)
    }
    expect(streams.map((s) => s.status)).toEqual(Array(12).fill(200))
    expect(responses).toHaveLength(12)
    expect(services().eventFanout.size).toBe(baseStreams + 12)

    for (const s of streams) s.destroy()
    await eventually(async () => expect(services().eventFanout.size).toBe(baseStreams))
    // A WeakRef's target lives at least until the end of the job that last read it: collect
    // between turns of the event loop until every response is gone (or `eventually` gives up).
    await eventually(async () => {
      await new Promise((r) => setImmediate(r))
      gc()
      expect(responses.filter((r) => r.deref() !== undefined)).toHaveLength(0)
    })
  })
})

describe('GET /api/wa/events caps open streams (429 RATE_LIMITED with Retry-After)', () => {
  async function refused(actor: Actor, ip: string) {
    const url = `${h.app.url}/api/wa/events`
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${actor.token}`, 'x-tenant': actor.tenantId, 'x-forwarded-for': ip },
    })
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
    await expectError(res, 429, 'RATE_LIMITED')
  }

  it('per user (3), per tenant (5), per IP (4); a freed slot is usable again', async () => {
    const [owner, member, third] = await tenantWithUsers(3)
    const open: OpenStream[] = []
    for (let i = 0; i < 3; i++) open.push(await openStream(owner!, `10.2.0.${i}`))
    await refused(owner!, '10.2.0.9')
    // Same tenant, another user: two more fill the tenant's five.
    for (let i = 0; i < 2; i++) open.push(await openStream(member!, `10.2.1.${i}`))
    await refused(third!, '10.2.2.0')
    expect(open.every((s) => s.status === 200)).toBe(true)

    // One address, users of other tenants: the fifth stream from that address is refused.
    const others = (await Promise.all([1, 2].map(() => tenantWithUsers(1)))).flat()
    const fromOneIp: OpenStream[] = []
    for (const actor of others) for (let i = 0; i < 2; i++) fromOneIp.push(await openStream(actor, '10.3.0.1'))
    expect(fromOneIp.every((s) => s.status === 200)).toBe(true)
    await refused(third!, '10.3.0.1')

    // Closing one of the owner's streams frees its user, tenant and IP slots.
    open[0]!.destroy()
    const reopened = await eventually(async () => {
      const s = await openStream(third!, '10.2.0.0')
      if (s.status !== 200) s.destroy()
      expect(s.status).toBe(200)
      return s
    })
    for (const s of [...open, ...fromOneIp, reopened]) s.destroy()
  })
})
