import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { useWaApp } from '../utils/wa-harness'
import { STACK_LINE, expectError, newTenant, post, scanTarget, type TenantActor } from './api-support'

// One error table (issue 14, item 1): the settings page's action answers a domain error with the
// status, code and Retry-After the JSON API answers for the same error. Each case produces the
// error once through /api/wa/* (Bearer) and once through the page's action (session cookie, a
// JavaScript `?_data=` submission, whose JSON is what the panel renders), for its own tenant.
// Pairing codes limited to 1 per 10 minutes so the second request of a tenant is refused.
const h = useWaApp({ instances: 8, env: { WA_RATE_LIMIT_PAIRING: '1/600' } })

interface Answer {
  status: number
  code: unknown
  retryAfter: string | null
  body: Record<string, unknown>
}

/** The API's envelope (checked by expectError: JSON, no stack, a message). */
async function apiAnswer(res: Response): Promise<Answer> {
  const code = ((await res.clone().json()) as { error?: unknown }).error
  const body = await expectError(res, res.status, String(code))
  return { status: res.status, code, retryAfter: res.headers.get('retry-after'), body }
}

async function pageAnswer(t: TenantActor, fields: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${h.app.url}/settings/whatsapp?_data=routes%2Fsettings.whatsapp`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      cookie: await sessionCookie(testDb(), t.userId),
      origin: new URL(h.app.url).origin,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(fields),
  })
  const text = await res.text()
  expect(text).not.toMatch(STACK_LINE)
  const body = JSON.parse(text) as Record<string, unknown>
  expect(body).toMatchObject({ ok: false, intent: fields.intent })
  return { status: res.status, code: body.code, retryAfter: res.headers.get('retry-after'), body }
}

/** Same status, same code, Retry-After on both or neither (the same value when it is fixed). */
function expectSame(api: Answer, page: Answer, expected: { status: number; code: string; retryAfter?: 'any' | string }) {
  expect({ status: api.status, code: api.code }).toEqual({ status: expected.status, code: expected.code })
  expect({ status: page.status, code: page.code }).toEqual({ status: api.status, code: api.code })
  if (expected.retryAfter === undefined) {
    expect([api.retryAfter, page.retryAfter]).toEqual([null, null])
  } else if (expected.retryAfter === 'any') {
    for (const r of [api.retryAfter, page.retryAfter]) expect(Number(r) >= 1 && Number.isInteger(Number(r)), String(r)).toBe(true)
  } else {
    expect([api.retryAfter, page.retryAfter]).toEqual([expected.retryAfter, expected.retryAfter])
  }
  // The text to show comes with the page's answer, in its language (French by default).
  expect(typeof page.body.message).toBe('string')
  expect((page.body.message as string).length).toBeGreaterThan(0)
}

/** A first QR through the API: the tenant holds an instance and a running link attempt. */
async function startLink(t: TenantActor): Promise<string> {
  const res = await post(h, '/api/wa/qr/generate', t)
  expect(res.status).toBe(200)
  return (await scanTarget(((await res.json()) as { qrCode: string }).qrCode)).instanceId
}

describe('the settings page answers domain errors like the API', () => {
  it('UPSTREAM_AUTH (Green-API refuses the instance credentials): 502 UPSTREAM_UNAVAILABLE, Retry-After 60, on both', async () => {
    const t = await newTenant()
    await startLink(t)
    h.mocks.server.use(http.get(/\/waInstance\d+\/qr\//, () => new HttpResponse('Unauthorized', { status: 401 })))
    const api = await apiAnswer(await post(h, '/api/wa/qr/generate', t))
    const page = await pageAnswer(t, { intent: 'link-qr' })
    expectSame(api, page, { status: 502, code: 'UPSTREAM_UNAVAILABLE', retryAfter: '60' })
    expect(page.body.message).toContain('identifiants') // its own text: contact support, not "retry in 5 s"
  })

  it('CREDENTIALS_UNREADABLE (a key this process does not hold): 503 with Retry-After 60 on both', async () => {
    const t = await newTenant()
    const instanceId = await startLink(t)
    // Envelopes that do not decrypt (what a rotation run elsewhere, or a tampered row, leaves).
    const unreadable = 'v1.k2.AAAA.BBBB.CCCC'
    await testDb().updateTable('wa_instances').set({ encrypted_token: unreadable }).where('id', '=', instanceId).execute()
    await testDb()
      .updateTable('tenant_provider_configs')
      .set({ encrypted_config: unreadable })
      .where('tenant_id', '=', t.tenantId)
      .execute()
    const api = await apiAnswer(await post(h, '/api/wa/qr/generate', t))
    const page = await pageAnswer(t, { intent: 'link-qr' })
    expectSame(api, page, { status: 503, code: 'CREDENTIALS_UNREADABLE', retryAfter: '60' })
  })

  it('UPSTREAM_UNAVAILABLE (Green-API down): 503 with the Retry-After of the error on both', async () => {
    const t = await newTenant()
    const instanceId = await startLink(t)
    h.sim.fault({ instanceId, methods: ['qr'] }).down(503)
    const api = await apiAnswer(await post(h, '/api/wa/qr/generate', t))
    const page = await pageAnswer(t, { intent: 'link-qr' })
    expectSame(api, page, { status: 503, code: 'UPSTREAM_UNAVAILABLE', retryAfter: 'any' })
  })

  it('VALIDATION_FAILED: a bad phone number is 400 VALIDATION_FAILED on both (the page adds the field)', async () => {
    const t = await newTenant()
    const api = await apiAnswer(await post(h, '/api/wa/pairing-code', t, { phoneNumber: 'not a phone' }))
    const page = await pageAnswer(t, { intent: 'link-phone', phoneNumber: 'not a phone' })
    expectSame(api, page, { status: 400, code: 'VALIDATION_FAILED' })
    expect(page.body.field).toBe('phoneNumber')
  })

  it('RATE_LIMITED: 429 with Retry-After on both', async () => {
    const t = await newTenant()
    expect((await post(h, '/api/wa/pairing-code', t, { phoneNumber: '+33611223344' })).status).toBe(200)
    const api = await apiAnswer(await post(h, '/api/wa/pairing-code', t, { phoneNumber: '+33611223344' }))
    const page = await pageAnswer(t, { intent: 'link-phone', phoneNumber: '+33611223344' })
    expectSame(api, page, { status: 429, code: 'RATE_LIMITED', retryAfter: 'any' })
  })

  it('NOT_CONNECTED and WHATSAPP_DISABLED: 409 and 403 on both', async () => {
    const t = await newTenant()
    expectSame(
      await apiAnswer(await post(h, '/api/wa/test', t)),
      await pageAnswer(t, { intent: 'send-test', message: 'hello' }),
      {
        status: 409,
        code: 'NOT_CONNECTED',
      },
    )
    const off = await newTenant({ whatsappEnabled: false })
    expectSame(await apiAnswer(await post(h, '/api/wa/qr/generate', off)), await pageAnswer(off, { intent: 'link-qr' }), {
      status: 403,
      code: 'WHATSAPP_DISABLED',
    })
  })
})
