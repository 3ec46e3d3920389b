import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../utils/app'

// The app reaches PostgreSQL through a TCP proxy the test controls, so "the database stops"
// can be simulated without stopping the server other test files share.
const target = new URL(process.env.DATABASE_URL!)
const sockets = new Set<net.Socket>()
const proxy = net.createServer((client) => {
  const upstream = net.connect(Number(target.port), target.hostname)
  sockets.add(client).add(upstream)
  client.pipe(upstream).pipe(client)
  const drop = () => {
    client.destroy()
    upstream.destroy()
  }
  client.on('error', drop)
  upstream.on('error', drop)
})

let app: TestApp
beforeAll(async () => {
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()))
  const proxied = new URL(target)
  proxied.port = String((proxy.address() as net.AddressInfo).port)
  app = await startTestApp({ env: { DATABASE_URL: proxied.toString() } })
})
afterAll(async () => {
  await app.close()
  proxy.close()
})

describe('health endpoints over HTTP', () => {
  it('healthz answers 200 while the process is up', async () => {
    const res = await fetch(`${app.url}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true })
  })

  it('readyz answers 200 when the database answers, 503 with the envelope when it is gone', async () => {
    const up = await fetch(`${app.url}/readyz`)
    expect(up.status).toBe(200)

    proxy.close()
    for (const s of sockets) s.destroy()
    const down = await fetch(`${app.url}/readyz`)
    expect(down.status).toBe(503)
    expect(await down.json()).toMatchObject({ ok: false, error: 'UPSTREAM_UNAVAILABLE' })
    expect(down.headers.get('retry-after')).toBeTruthy()

    const health = await fetch(`${app.url}/healthz`)
    expect(health.status).toBe(200)
  })
})
