import { describe, expect, it } from 'vitest'
import { useWaApp } from '../utils/wa-harness'

// GET /api/docs (issue 14, item 10): a self-hosted API reference that runs under the app's
// nonce-based CSP. The browser half (Swagger UI really renders every operation, no CSP
// violation) is tests/e2e/api-docs.test.ts.
const h = useWaApp({ instances: 1 })

function cspNonceOf(res: Response): string {
  const csp = res.headers.get('content-security-policy') ?? ''
  const scriptSrc = csp
    .split(';')
    .map((d) => d.trim())
    .find((d) => d.startsWith('script-src '))
  expect(scriptSrc, csp).toMatch(/'strict-dynamic'/)
  return /'nonce-([^']+)'/.exec(scriptSrc ?? '')?.[1] ?? ''
}

describe('GET /api/docs', () => {
  it('is an HTML page whose every script carries this response’s CSP nonce, and loads only same-origin assets that answer 200', async () => {
    const res = await h.api('/api/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await res.text()
    const nonce = cspNonceOf(res)
    expect(nonce.length).toBeGreaterThan(10)

    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
    expect(scripts.length).toBe(2)
    for (const [, attrs, body] of scripts) {
      // 'strict-dynamic': a parser-inserted script runs only with the nonce, 'self' or not.
      expect(attrs, 'script without the response nonce').toContain(`nonce="${nonce}"`)
      expect(body!.trim(), 'inline script').toBe('')
    }
    expect(html).not.toMatch(/\son[a-z]+=/i) // no inline handlers (script-src-attr 'none')
    expect(html, 'nothing from another origin (no CDN)').not.toMatch(/(src|href)="(https?:)?\/\//)

    const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]!)
    expect(assets).toEqual(
      expect.arrayContaining(['/api/docs/assets/swagger-ui-bundle.js', '/api/docs/assets/swagger-ui.css', '/api-docs/init.js']),
    )
    for (const asset of assets) {
      const a = await fetch(`${h.app.url}${asset}`)
      expect(a.status, asset).toBe(200)
      const type = a.headers.get('content-type') ?? ''
      if (asset.endsWith('.js')) expect(type, asset).toMatch(/javascript/)
      if (asset.endsWith('.css')) expect(type, asset).toMatch(/text\/css/)
      expect((await a.arrayBuffer()).byteLength, asset).toBeGreaterThan(100)
    }
    // The document the page reads is the API's own.
    expect(html).toContain('data-url="/api/openapi.json"')
    expect((await h.api('/api/openapi.json')).status).toBe(200)
  })

  it('a fresh nonce per response, and the page is never cached under another response’s CSP', async () => {
    const [a, b] = await Promise.all([h.api('/api/docs'), h.api('/api/docs')])
    const [na, nb] = [cspNonceOf(a), cspNonceOf(b)]
    expect(na).not.toBe(nb)
    expect(await a.text()).toContain(`nonce="${na}"`)
    expect(await b.text()).toContain(`nonce="${nb}"`)
    expect(a.headers.get('cache-control')).toBe('no-store')
  })

  it('serves only the Swagger UI files the page needs, not the rest of the package', async () => {
    for (const p of [
      '/api/docs/assets/index.html',
      '/api/docs/assets/swagger-initializer.js',
      '/api/docs/assets/package.json',
      '/api/docs/assets/..%2fpackage.json',
    ]) {
      const res = await fetch(`${h.app.url}${p}`)
      expect(res.status, p).toBe(404)
      expect(await res.json()).toMatchObject({ ok: false, error: 'NOT_FOUND' })
    }
  })
})
