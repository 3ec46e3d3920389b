import { describe, expect, it } from 'vitest'
import { testDb } from '../utils/db'
import { decodeQr, eventually, useWaApp } from '../utils/wa-harness'

/** After a journey, /metrics (behind METRICS_TOKEN) shows the four names of docs/operations.md#metrics with bounded labels. */
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789'

function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = []
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const m = /^[a-z_]+(?:\{(.*)\})? ([0-9.e+-]+|NaN|\+Inf)$/.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    for (const l of (m[1] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!
    out.push({ labels, value: Number(m[2]) })
  }
  return out
}

const sum = (s: Array<{ value: number }>) => s.reduce((a, b) => a + b.value, 0)

describe('metrics after a link journey', () => {
  const h = useWaApp({ env: { METRICS_TOKEN } })

  it('counts requests by route, upstream calls by method/outcome with latency, link attempts by result', async () => {
    const owner = { token: h.tokens.owner, tenant: 'macrea' }
    expect((await fetch(`${h.app.url}/metrics`)).status).toBe(401)
    expect((await fetch(`${h.app.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)

    const gen = await (await h.api('/api/wa/qr/generate', { method: 'POST', ...owner, json: {} })).json()
    const [instanceId, nonce] = new URL(await decodeQr(gen.qrCode)).pathname.split('/').slice(-2) as [string, string]
    expect(h.sim.scan(instanceId, nonce).ok).toBe(true)
    await h.sim.flushWebhooks()
    await eventually(async () =>
      expect(await (await h.api('/api/wa/qr/status', owner)).json()).toMatchObject({ connected: true }),
    )
    const again = await h.api('/api/wa/qr/generate', { method: 'POST', ...owner, json: {} })
    expect(again.status).toBe(409)
    const blocked = await h.api('/api/wa/qr/generate', {
      method: 'POST',
      token: h.tokens.blockedOwner,
      tenant: 'test_tenant_blocked',
      json: {},
    })
    expect(blocked.status).toBe(403)
    await h.api('/api/wa/disconnect', { method: 'POST', ...owner, json: {} })
    await fetch(`${h.app.url}/no/such/page/${instanceId}`)
    // A new attempt that runs out of time without a scan.
    expect((await h.api('/api/wa/qr/generate', { method: 'POST', ...owner, json: {} })).status).toBe(200)
    await testDb()
      .updateTable('tenant_provider_configs')
      .set({ link_expires_at: new Date(Date.now() - 60_000) })
      .where('tenant_id', '=', 'macrea')
      .execute()
    await eventually(async () =>
      expect(await (await h.api('/api/wa/qr/status', owner)).json()).toMatchObject({ connected: false, linkExpired: true }),
    )
    // The background refresher records the expiry (once): wait for its timeline entry.
    await eventually(async () => {
      const expire = await testDb()
        .selectFrom('wa_status_events')
        .select('id')
        .where('tenant_id', '=', 'macrea')
        .where('source', '=', 'expire')
        .execute()
      expect(expire).toHaveLength(1)
    })

    const res = await fetch(`${h.app.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()

    const http = samples(text, 'http_requests_total')
    expect(http.find((s) => s.labels.route === 'routes/api.wa.qr.generate' && s.labels.status === '200')?.value).toBe(2)
    expect(http.find((s) => s.labels.route === 'routes/api.wa.qr.generate' && s.labels.status === '409')?.value).toBe(1)
    expect(http.find((s) => s.labels.route === 'routes/api.wa.disconnect' && s.labels.status === '200')?.value).toBe(1)
    expect(sum(http.filter((s) => s.labels.route === 'routes/api.wa.webhooks.green-api.$instanceId'))).toBeGreaterThanOrEqual(1)
    expect(http.find((s) => s.labels.route === 'unmatched' && s.labels.status === '404')?.value).toBe(1)
    for (const s of http) {
      // Bounded: route ids or fixed words, never raw paths or ids.
      expect(s.labels.route).toMatch(/^(routes\/[A-Za-z0-9._$[\]-]+|static|simulator|unmatched)$/)
      expect(s.labels.route).not.toContain(instanceId)
      expect(s.labels.status).toMatch(/^[1-5][0-9]{2}$/)
    }

    const upstream = samples(text, 'greenapi_requests_total')
    expect(sum(upstream.filter((s) => s.labels.method === 'qr' && s.labels.outcome === 'ok'))).toBeGreaterThanOrEqual(1)
    expect(sum(upstream.filter((s) => s.labels.method === 'logout'))).toBe(1)
    for (const s of upstream) expect(Object.keys(s.labels).sort()).toEqual(['method', 'outcome'])
    expect(
      samples(text, 'greenapi_request_duration_seconds_count').find((s) => s.labels.method === 'qr')?.value,
    ).toBeGreaterThanOrEqual(1)
    expect(text).toMatch(/greenapi_request_duration_seconds_bucket\{le="0\.05",method="qr"\}/)

    const link = samples(text, 'wa_link_attempts_total')
    const byResult = Object.fromEntries(link.map((s) => [s.labels.result, s.value]))
    expect(byResult).toMatchObject({ generated: 2, linked: 1, already_connected: 1, expired: 1 })
    // The add-on gate refuses before any link attempt starts: not counted.
    expect(byResult.denied ?? 0).toBe(0)
    expect(byResult.error ?? 0).toBe(0)
    expect(text).not.toContain(h.sim.instance(instanceId)!.apiToken)
  })
})
