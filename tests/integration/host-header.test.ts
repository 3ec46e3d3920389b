import http from 'node:http'
import { describe, expect, it } from 'vitest'
import { useWaApp } from '../utils/wa-harness'
import { newTenant, post, scanTarget } from './api-support'

/**
 * Issue 13: the webhook URL pushed to Green-API (its token included) is never built from the
 * request's Host header. Without PUBLIC_URL (never in production) it is this server's own
 * address; the API and the settings page behave alike.
 */
const h = useWaApp({ instances: 3 })
/** This server's own origin as its socket sees it (server/http-app.ts): `localhost` on loopback. */
const ownOrigin = () => h.app.url.replace('127.0.0.1', 'localhost')

/** A POST with a Host header of the client's choosing (fetch does not let one set Host). */
function postWithHost(
  path: string,
  host: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  const url = new URL(path, h.app.url)
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent: false,
        headers: { ...headers, host, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (text += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('Host header', () => {
  it('POST /api/wa/qr/generate with Host: evil.example pushes a webhook URL on this server, not there', async () => {
    const actor = await newTenant()
    const res = await postWithHost(
      '/api/wa/qr/generate',
      'evil.example',
      { authorization: `Bearer ${actor.token}`, 'x-tenant': actor.tenantId, 'content-type': 'application/json' },
      '{}',
    )
    expect(res.status, res.body).toBe(200)
    const { instanceId, url } = await scanTarget((JSON.parse(res.body) as { qrCode: string }).qrCode)
    const webhookUrl = h.sim.instance(instanceId)?.webhookUrl ?? ''
    expect(webhookUrl).not.toContain('evil.example')
    expect(new URL(webhookUrl).origin).toBe(ownOrigin())
    expect(url).not.toContain('evil.example')
    await post(h, '/api/wa/disconnect', actor)
  })

  it('POST /api/wa/pairing-code with Host: evil.example does the same', async () => {
    const actor = await newTenant()
    const res = await postWithHost(
      '/api/wa/pairing-code',
      'evil.example:8443',
      { authorization: `Bearer ${actor.token}`, 'x-tenant': actor.tenantId, 'content-type': 'application/json' },
      JSON.stringify({ phoneNumber: '+33611223344' }),
    )
    expect(res.status, res.body).toBe(200)
    const hooked = h.sim.listInstances().filter((i) => i.webhookUrl?.includes('evil.example'))
    expect(hooked).toEqual([])
    expect(h.sim.listInstances().some((i) => i.webhookUrl && new URL(i.webhookUrl).origin === ownOrigin())).toBe(true)
    await post(h, '/api/wa/disconnect', actor)
  })
})
