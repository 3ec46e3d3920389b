import { http, HttpResponse, type HttpHandler } from 'msw'
import type { GreenApiSimulator, SimResponse } from '../../adapters/green-api/simulator'

/**
 * MSW handlers wrapping the same stateful simulator as `npm start`'s offline mode, so tests see
 * Green-API's real URL shapes, status codes and bodies. Error cases: use the simulator's fault
 * switches (`sim.fault({ instanceId }).down()`), or a per-test `server.use()` override.
 */

/** Instance hosts look like Green-API's per-instance hosts: `https://1101.api.greenapi.test`. */
export const GREEN_API_TEST_HOST_SUFFIX = '.api.greenapi.test'
export const GREEN_API_TEST_PARTNER_URL = 'https://partner.greenapi.test'

/** The apiUrl a test should store for an instance (first 4 digits as host prefix, like the real one). */
export function greenApiTestApiUrl(instanceId: string): string {
  return `https://${instanceId.slice(0, 4) || '0000'}${GREEN_API_TEST_HOST_SUFFIX}`
}

const INSTANCE_URL =
  /^https?:\/\/[a-z0-9-]+(?:\.[a-z0-9-]+)*\.api\.greenapi\.test\/waInstance(\d+)\/([A-Za-z]+)\/([^/?#]+)(?:\/([^/?#]+))?\/?$/
const AVATAR_URL = /^https?:\/\/[a-z0-9-]+(?:\.[a-z0-9-]+)*\.api\.greenapi\.test\/simAvatar\/(\d{1,20})\.png$/
const PARTNER_URL = /^https:\/\/partner\.greenapi\.test\/partner\/([A-Za-z]+)\/([^/?#]+)\/?$/

export function toHttpResponse(out: SimResponse): Response {
  if (out.reset) return HttpResponse.error()
  const headers = new Headers(out.headers ?? {})
  if (out.rawBytes !== undefined) return new HttpResponse(new Uint8Array(out.rawBytes), { status: out.status, headers })
  if (out.rawBody !== undefined) {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8')
    return new HttpResponse(out.rawBody, { status: out.status, headers })
  }
  headers.set('content-type', 'application/json')
  return new HttpResponse(JSON.stringify(out.body === undefined ? null : out.body), { status: out.status, headers })
}

async function readBody(request: Request): Promise<{ ok: true; body: unknown } | { ok: false }> {
  const raw = await request.text()
  if (raw.trim() === '') return { ok: true, body: undefined }
  try {
    return { ok: true, body: JSON.parse(raw) }
  } catch {
    return { ok: false }
  }
}

function pathOf(url: string): string {
  const u = new URL(url)
  return `${u.protocol}//${u.host}${u.pathname}`
}

export function createGreenApiMock(sim: GreenApiSimulator): HttpHandler[] {
  return [
    http.all(INSTANCE_URL, async ({ request }) => {
      const m = INSTANCE_URL.exec(pathOf(request.url))
      if (!m) return HttpResponse.text('Forbidden', { status: 403 })
      const body = await readBody(request)
      if (!body.ok) return HttpResponse.json({ message: 'Unexpected token in JSON' }, { status: 400 })
      const url = new URL(request.url)
      const host = url.host
      return toHttpResponse(
        await sim.handle({
          instanceId: m[1] ?? '',
          method: m[2] ?? '',
          token: decodeURIComponent(m[3] ?? ''),
          ...(m[4] === undefined ? {} : { pathTail: decodeURIComponent(m[4]) }),
          query: Object.fromEntries(url.searchParams),
          httpMethod: request.method,
          body: body.body,
          host,
          apiBase: `${url.protocol}//${host}`,
        }),
      )
    }),
    // The simulated account's profile picture (getContactInfo's `avatar`), on the instance's host.
    http.get(AVATAR_URL, async ({ request }) => {
      const m = AVATAR_URL.exec(pathOf(request.url))
      return toHttpResponse(await sim.avatarImage(m?.[1] ?? ''))
    }),
    http.all(PARTNER_URL, async ({ request }) => {
      const m = PARTNER_URL.exec(pathOf(request.url))
      if (!m) return HttpResponse.text('Not Found', { status: 404 })
      const body = await readBody(request)
      if (!body.ok) return HttpResponse.json({ message: 'Unexpected token in JSON' }, { status: 400 })
      return toHttpResponse(
        await sim.handlePartner({
          method: m[1] ?? '',
          token: decodeURIComponent(m[2] ?? ''),
          httpMethod: request.method,
          body: body.body,
          host: new URL(request.url).host,
        }),
      )
    }),
  ]
}
