import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebhookHttpTransport } from '../../adapters/http/webhook-http-transport'

// The CRM webhook HTTP client against a real loopback server: the deadline, the 1 KiB cap, no
// redirects, and literal private addresses refused before any connection (production policy).
let server: http.Server
let base = ''
let hits = 0
beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits++
    if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('late'), 2_000)
    if (req.url === '/big') return void res.writeHead(200).end('y'.repeat(100_000))
    if (req.url === '/moved') return void res.writeHead(307, { location: '/elsewhere' }).end()
    res.writeHead(200).end('ok')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const dev = new WebhookHttpTransport({ httpsOnly: false, allowPrivate: true, timeoutMs: 300 })
const request = { headers: { 'content-type': 'application/json' }, body: '{}' }

describe('WebhookHttpTransport', () => {
  it('gives up at its deadline with a timeout error, and reads at most 1 KiB of an answer', async () => {
    const slow = await dev.post(`${base}/slow`, request)
    expect(slow).toMatchObject({ status: null, error: 'timeout', body: '' })
    const big = await dev.post(`${base}/big`, request)
    expect(big.status).toBe(200)
    expect(big.body).toBe('y'.repeat(1024))
  })

  it('does not follow a redirect', async () => {
    const before = hits
    expect(await dev.post(`${base}/moved`, request)).toMatchObject({ status: 307, error: null })
    expect(hits - before).toBe(1)
  })

  it('under the production policy refuses literal private addresses before connecting', async () => {
    const prod = new WebhookHttpTransport({ httpsOnly: false, allowPrivate: false })
    const before = hits
    for (const url of [`${base}/x`, 'http://[::1]:9/x', 'http://[::ffff:127.0.0.1]:9/x', 'http://169.254.169.254/latest']) {
      expect(await prod.post(url, request), url).toMatchObject({ status: null, error: 'private_address' })
    }
    expect(hits).toBe(before)
    const https = new WebhookHttpTransport({ httpsOnly: true, allowPrivate: true })
    expect(await https.post(`${base}/x`, request)).toMatchObject({ status: null, error: 'https_required' })
    expect(hits).toBe(before)
  })
})
