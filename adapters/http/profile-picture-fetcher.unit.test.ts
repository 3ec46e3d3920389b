import { describe, expect, it } from 'vitest'
import { HttpProfilePictureFetcher } from './profile-picture-fetcher'

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])
const WEBP = new Uint8Array([...Buffer.from('RIFF'), 0, 0, 0, 0, ...Buffer.from('WEBP'), 1])

/** A fetch that answers `body` with `type` and records the URLs it was asked for. */
function upstream(body: Uint8Array | string, type: string, status = 200) {
  const asked: string[] = []
  const fetchImpl = (async (input: string | URL | Request) => {
    asked.push(String(input))
    return new Response(typeof body === 'string' ? body : Buffer.from(body), { status, headers: { 'content-type': type } })
  }) as typeof fetch
  return { asked, fetchImpl }
}

describe('HttpProfilePictureFetcher (decision 241)', () => {
  it.each([
    ['image/jpeg', JPEG],
    ['image/png', PNG],
    ['image/webp', WEBP],
  ])('an https picture on WhatsApp’s host, %s by its magic bytes: kept, with a version', async (type, bytes) => {
    const u = upstream(bytes, type)
    const picture = await new HttpProfilePictureFetcher({ fetch: u.fetchImpl }).fetch('https://pps.whatsapp.net/v/t61/a.jpg?oh=1')
    expect(picture).toEqual({ bytes, contentType: type, version: expect.stringMatching(/^[0-9a-f]{20}$/) })
  })

  it.each([
    ['plain http', 'http://pps.whatsapp.net/a.jpg'],
    ['another host', 'https://evil.example/a.jpg'],
    ['a look-alike host', 'https://pps.whatsapp.net.evil.example/a.jpg'],
    ['an IP literal', 'https://127.0.0.1/a.jpg'],
    ['credentials in the URL', 'https://user:pw@pps.whatsapp.net/a.jpg'],
    ['another port', 'https://pps.whatsapp.net:8443/a.jpg'],
    ['not a URL', 'pps.whatsapp.net/a.jpg'],
  ])('%s: no picture, and no request leaves', async (_label, url) => {
    const u = upstream(PNG, 'image/png')
    expect(await new HttpProfilePictureFetcher({ fetch: u.fetchImpl }).fetch(url)).toBeNull()
    expect(u.asked).toEqual([])
  })

  it('outside simulator mode the instance origin and loopback are not trusted; in simulator mode they are', async () => {
    const u = upstream(PNG, 'image/png')
    const opts = { instanceApiUrl: 'https://1101.api.greenapi.test' }
    const prod = new HttpProfilePictureFetcher({ fetch: u.fetchImpl })
    expect(await prod.fetch('https://1101.api.greenapi.test/simAvatar/1.png', opts)).toBeNull()
    expect(await prod.fetch('http://127.0.0.1:3000/__sim/green-api/simAvatar/1.png')).toBeNull()
    expect(u.asked).toEqual([])
    const sim = new HttpProfilePictureFetcher({ fetch: u.fetchImpl, simulator: true })
    expect(await sim.fetch('https://1101.api.greenapi.test/simAvatar/1.png', opts)).not.toBeNull()
    expect(await sim.fetch('http://127.0.0.1:3000/__sim/green-api/simAvatar/1.png')).not.toBeNull()
    expect(await sim.fetch('http://1101.api.greenapi.test/simAvatar/1.png', opts)).toBeNull() // http ≠ the https origin
    expect(await sim.fetch('https://other.example/a.png', opts)).toBeNull()
  })

  it.each([
    ['a text declared as PNG', upstream('<html>hi</html>', 'image/png')],
    ['a PNG declared as HTML', upstream(PNG, 'text/html')],
    ['an SVG', upstream('<svg xmlns="http://www.w3.org/2000/svg"/>', 'image/svg+xml')],
    ['a 404', upstream(PNG, 'image/png', 404)],
    ['a body over the cap', upstream(new Uint8Array([...PNG, ...new Uint8Array(2048)]), 'image/png')],
  ])('%s: no picture', async (_label, u) => {
    expect(
      await new HttpProfilePictureFetcher({ fetch: u.fetchImpl, maxBytes: 1024 }).fetch('https://pps.whatsapp.net/a'),
    ).toBeNull()
  })

  it('a failing or endless upstream: no picture, no throw', async () => {
    const failing = (async () => {
      throw new TypeError('fetch failed')
    }) as typeof fetch
    expect(await new HttpProfilePictureFetcher({ fetch: failing }).fetch('https://pps.whatsapp.net/a')).toBeNull()
    const endless = (async () =>
      new Response(new ReadableStream({ pull: () => new Promise(() => {}) }), {
        headers: { 'content-type': 'image/png' },
      })) as typeof fetch
    expect(await new HttpProfilePictureFetcher({ fetch: endless, timeoutMs: 50 }).fetch('https://pps.whatsapp.net/a')).toBeNull()
  })
})
