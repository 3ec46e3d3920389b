import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { useWaApp } from '../utils/wa-harness'

// public/ is served on its asset paths only (server/http-app.ts): an API request or a page
// never goes through the static file handler first.
const h = useWaApp({ instances: 1 })

const publicDir = path.resolve(__dirname, '../../public')
// A file under public/ named like an API path, unique to this run: a catch-all static handler
// in front of Remix would serve it instead of the route.
const probe = `api/wa/static-probe-${process.pid}`
const probeFile = path.join(publicDir, probe)

afterAll(() => {
  fs.rmSync(probeFile, { force: true })
  for (const dir of ['api/wa', 'api']) {
    try {
      fs.rmdirSync(path.join(publicDir, dir)) // only when empty
    } catch {
      // not empty, or already gone
    }
  }
})

/** Every file under public/ except the compiler's output (checked separately), as URL paths. */
function trackedPublicFiles(dir = publicDir, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (prefix === '' && (e.name === 'build' || e.name === 'api')) return []
    const rel = `${prefix}/${e.name}`
    return e.isDirectory() ? trackedPublicFiles(path.join(dir, e.name), rel) : [rel]
  })
}

describe('static files', () => {
  it('a file under public/ named like an API path is not served: the request reaches the route', async () => {
    fs.mkdirSync(path.dirname(probeFile), { recursive: true })
    fs.writeFileSync(probeFile, 'SERVED-BY-STATIC')
    const res = await h.api(`/${probe}`, { token: h.tokens.owner, tenant: 'macrea' })
    const body = await res.text()
    expect(body).not.toContain('SERVED-BY-STATIC')
    expect(res.status).toBe(404)
    expect(JSON.parse(body)).toMatchObject({ ok: false, error: 'NOT_FOUND' })
  })

  it('every file in public/ is served with an hour of caching', async () => {
    const files = trackedPublicFiles()
    expect(files).toEqual(expect.arrayContaining(['/favicon.svg', '/api-docs/init.js']))
    for (const file of files) {
      const res = await fetch(`${h.app.url}${file}`)
      expect(res.status, file).toBe(200)
      expect(res.headers.get('cache-control'), file).toBe('public, max-age=3600')
      expect(Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(path.join(publicDir, file))), file).toBe(true)
    }
  })

  it('compiled assets under /build are served immutable for a year; a missing one is the 404 page', async () => {
    const manifest = fs.readdirSync(path.join(publicDir, 'build')).find((f) => /^manifest-[A-Z0-9]+\.js$/i.test(f))
    expect(manifest).toBeDefined()
    const res = await fetch(`${h.app.url}/build/${manifest}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    await res.arrayBuffer()
    const missing = await fetch(`${h.app.url}/build/no-such-asset.js`)
    expect(missing.status).toBe(404)
    await missing.arrayBuffer()
  })
})
