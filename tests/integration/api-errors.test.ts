import http from 'node:http'
import fc from 'fast-check'
import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, it, type RunnerTask, type RunnerTestSuite } from 'vitest'
import { KyselyRateLimiter } from '../../adapters/kysely/kysely-rate-limiter'
import { appToken, unsignedToken } from '../utils/auth-fixtures'
import { otherProcessDb, testDb } from '../utils/db'
import { useWaApp } from '../utils/wa-harness'
import {
  STACK_LINE,
  expectError,
  get,
  linkByScan,
  newTenant,
  post,
  providerRow,
  scanTarget,
  type TenantActor,
} from './api-support'

// Every error code of docs/api.md#errors over HTTP. ONE simulator instance, so a second tenant gets
// NO_INSTANCE_AVAILABLE while another holds it. Each test builds the state it needs with its own
// fresh tenants (linkingTenant, connectedTenant) and gives the instance back after it, so any
// test runs alone or in any order. INSTANCE_BUSY needs shared mode: it is reached in
// api-isolation-shared.test.ts.
// No background state refresher: these tests count the upstream calls a refused request makes
// (none), and the refresher checks a live link attempt on its own about every second.
const h = useWaApp({ instances: 1, statusRefresh: false })
const macrea = () => ({ token: h.tokens.owner, tenantId: 'macrea' })
const member = () => ({ token: h.tokens.member, tenantId: 'macrea' })
const blocked = () => ({ token: h.tokens.blockedOwner, tenantId: 'test_tenant_blocked' })

const reached = new Map<string, Set<number>>()
async function expectCode(res: Response, status: number | number[], code: string) {
  const body = await expectError(res, status, code)
  if (!reached.has(code)) reached.set(code, new Set())
  reached.get(code)!.add(res.status)
  return body
}

const GET_ROUTES = ['/api/settings/features', '/api/wa/qr/status', '/api/wa/events']
const MUTATING: Array<{ path: string; body: unknown }> = [
  { path: '/api/wa/qr/generate', body: {} },
  { path: '/api/wa/pairing-code', body: { phoneNumber: '+33611223344' } },
  { path: '/api/wa/test', body: {} },
  { path: '/api/wa/disconnect', body: {} },
]
const raw = (path: string, init: RequestInit) => fetch(`${h.app.url}${path}`, init)

/** Waits for the next fixed window of `windowSeconds` if fewer than `margin` seconds are left in this one. */
async function roomInWindow(windowSeconds: number, margin = 8) {
  const { rows } = await sql<{ epoch: string }>`select extract(epoch from now()) as epoch`.execute(testDb())
  const left = windowSeconds - (Number(rows[0]!.epoch) % windowSeconds)
  if (left < margin) await new Promise((r) => setTimeout(r, left * 1000 + 250))
}

/** A POST with `Transfer-Encoding: chunked` (no Content-Length), over node:http so the answer can
 * arrive before the upload ends (fetch gives up on the response when the server stops reading). */
function chunkedPost(path: string, chunks: number, chunkBytes: number): Promise<{ status: number; body: string }> {
  const url = new URL(path, h.app.url)
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          authorization: `Bearer ${h.tokens.owner}`,
          'x-tenant': 'macrea',
          'content-type': 'application/json',
          'transfer-encoding': 'chunked',
        },
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', reject)
    req.write('{"padding":"')
    for (let i = 0; i < chunks; i++) req.write('x'.repeat(chunkBytes))
    req.end('"}')
  })
}

/** Tenants that may hold the one instance: disconnected after each test, faults cleared. */
const holders: TenantActor[] = []
afterEach(async () => {
  h.sim.clearFaults()
  for (const t of holders.splice(0)) expect((await post(h, '/api/wa/disconnect', t)).status).toBe(200)
})

/** A fresh tenant holding the only instance mid-link (QR generated, not scanned). */
async function linkingTenant(): Promise<{ actor: TenantActor; instanceId: string }> {
  const actor = await newTenant()
  holders.push(actor)
  const gen = await post(h, '/api/wa/qr/generate', actor)
  expect(gen.status).toBe(200)
  return { actor, instanceId: (await scanTarget(((await gen.json()) as { qrCode: string }).qrCode)).instanceId }
}

/** A fresh tenant whose number is linked (authorized) on the only instance. */
async function connectedTenant(): Promise<{ actor: TenantActor; instanceId: string }> {
  const actor = await newTenant()
  holders.push(actor)
  return { actor, instanceId: await linkByScan(h, actor) }
}

describe('UNAUTHENTICATED (401 + WWW-Authenticate: Bearer)', () => {
  it('no, malformed, expired, badly signed or unsigned tokens on every /api route; Green-API untouched', async () => {
    h.sim.resetCallCounts()
    const now = Math.floor(Date.now() / 1000)
    const bad = [
      undefined,
      'Bearer',
      'Bearer not.a.jwt',
      'Basic YWRtaW46YWRtaW4=',
      `Bearer ${await appToken(testDb(), { sub: h.users.owner, tenant_id: 'macrea', exp: now - 120 })}`,
      `Bearer ${await appToken(testDb(), { sub: h.users.owner, tenant_id: 'macrea' }, { secret: 'another-secret-of-at-least-32-bytes-long!!' })}`,
      `Bearer ${unsignedToken({ sub: h.users.owner, tenant_id: 'macrea', jti: 'x', exp: now + 600 })}`,
    ]
    for (const authorization of bad) {
      const headers: Record<string, string> = { 'x-tenant': 'macrea', ...(authorization ? { authorization } : {}) }
      for (const path of GET_ROUTES) {
        const res = await raw(path, { headers })
        expect(res.headers.get('www-authenticate')).toBe('Bearer')
        await expectCode(res, 401, 'UNAUTHENTICATED')
      }
      for (const { path, body } of MUTATING) {
        const res = await raw(path, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
        expect(res.headers.get('www-authenticate')).toBe('Bearer')
        await expectCode(res, 401, 'UNAUTHENTICATED')
      }
    }
    expect(h.sim.callCount()).toBe(0)
  })
})

describe('tenant resolution', () => {
  it('TENANT_FORBIDDEN for a foreign or unknown tenant (same body), by header or by token claim', async () => {
    const foreign = await expectCode(
      await get(h, '/api/wa/qr/status', { token: h.tokens.owner, tenantId: 'test_tenant_blocked' }),
      403,
      'TENANT_FORBIDDEN',
    )
    const unknown = await expectCode(
      await get(h, '/api/wa/qr/status', { token: h.tokens.owner, tenantId: 'no-such-tenant' }),
      403,
      'TENANT_FORBIDDEN',
    )
    expect(unknown).toEqual(foreign)
    // A token without a tenant claim, pointed at a tenant the user is not a member of.
    const unbound = await appToken(testDb(), { sub: h.users.owner })
    await expectCode(
      await post(h, '/api/wa/qr/generate', { token: unbound, tenantId: 'test_tenant_blocked' }),
      403,
      'TENANT_FORBIDDEN',
    )
    // A token bound to a tenant its user no longer belongs to.
    const orphan = await appToken(testDb(), { sub: h.users.owner, tenant_id: 'test_tenant_blocked' })
    await expectCode(await get(h, '/api/settings/features', { token: orphan }), 403, 'TENANT_FORBIDDEN')
  })

  it('a malformed X-Tenant (or two values) → 400 VALIDATION_FAILED with issues', async () => {
    for (const value of ['MACREA', 'a b', 'macrea, macrea', '../etc', '-x', 'x'.repeat(64)]) {
      const body = await expectCode(
        await get(h, '/api/wa/qr/status', { token: h.tokens.owner, tenantId: value }),
        400,
        'VALIDATION_FAILED',
      )
      expect(Array.isArray(body.issues)).toBe(true)
    }
  })
})

describe('FORBIDDEN_ROLE and WHATSAPP_DISABLED', () => {
  it('a member gets 403 FORBIDDEN_ROLE on each mutating route (and may still read)', async () => {
    h.sim.resetCallCounts()
    for (const { path, body } of MUTATING) await expectCode(await post(h, path, member(), body), 403, 'FORBIDDEN_ROLE')
    expect(h.sim.callCount()).toBe(0)
    expect((await get(h, '/api/wa/qr/status', member())).status).toBe(200)
  })

  it('a tenant without the add-on: 403 WHATSAPP_DISABLED + upgrade_required on every /api/wa route but disconnect, zero Green-API calls', async () => {
    h.sim.resetCallCounts()
    const gated = MUTATING.filter(({ path }) => path !== '/api/wa/disconnect')
    const responses = [
      await get(h, '/api/wa/qr/status', blocked()),
      await get(h, '/api/wa/events', blocked()),
      ...(await Promise.all(gated.map(({ path, body }) => post(h, path, blocked(), body)))),
    ]
    for (const res of responses) {
      const body = await expectCode(res, 403, 'WHATSAPP_DISABLED')
      expect(body.upgrade_required).toBe(true)
    }
    // Disconnect is never gated (a 403 would trap a number linked before the add-on ended,
    // decision 169): with nothing linked it is the idempotent no-op.
    const unlinked = await post(h, '/api/wa/disconnect', blocked(), {})
    expect(unlinked.status).toBe(200)
    expect(h.sim.callCount()).toBe(0)
    // The features route is not gated: it tells the UI to show the upsell.
    const features = await get(h, '/api/settings/features', blocked())
    expect(features.status).toBe(200)
    expect(await features.json()).toMatchObject({ whatsapp_enabled: false })
  })
})

describe('VALIDATION_FAILED (400/415, body has issues)', () => {
  const send = (path: string, body: BodyInit, contentType: string | null, extra: RequestInit = {}) =>
    raw(path, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${h.tokens.owner}`,
        'x-tenant': 'macrea',
        ...(contentType ? { 'content-type': contentType } : {}),
      },
      body,
      ...extra,
    })
  const invalid = async (res: Response, status: number | number[] = 400) => {
    const body = await expectCode(res, status, 'VALIDATION_FAILED')
    expect(Array.isArray(body.issues)).toBe(true)
    return body
  }

  it('bad JSON, non-object JSON, non-JSON content types, oversized bodies, unknown fields', async () => {
    h.sim.resetCallCounts()
    const paths = ['/api/wa/qr/generate', '/api/wa/disconnect', '/api/wa/test', '/api/wa/pairing-code']
    for (const path of paths) {
      await invalid(await send(path, '{"unterminated": ', 'application/json'))
      for (const value of ['[]', '[{}]', '"text"', '42', 'null', 'true'])
        await invalid(await send(path, value, 'application/json'))
      await invalid(await send(path, '{}', 'text/plain'), [400, 415])
      await invalid(await send(path, 'a=1&b=2', 'application/x-www-form-urlencoded'), [400, 415])
      // Over the 16 KiB JSON limit: refused by the express shell's body limit (decision 090).
      const big = JSON.stringify({ padding: 'x'.repeat(17 * 1024) })
      await expectCode(await send(path, big, 'application/json'), 413, 'PAYLOAD_TOO_LARGE')
    }
    // A bigger body, still answered (drained, not reset) …
    await expectCode(
      await send('/api/wa/disconnect', JSON.stringify({ padding: 'z'.repeat(300 * 1024) }), 'application/json'),
      413,
      'PAYLOAD_TOO_LARGE',
    )
    // … and without a Content-Length (chunked): cut off while streaming, still the envelope.
    const chunked = await chunkedPost('/api/wa/qr/generate', 6, 8 * 1024)
    expect(chunked.status).toBe(413)
    expect(JSON.parse(chunked.body)).toMatchObject({ ok: false, error: 'PAYLOAD_TOO_LARGE' })
    expect(chunked.body).not.toMatch(STACK_LINE)

    const unknownField = await invalid(await send('/api/wa/qr/generate', '{"instanceId":"1101000001"}', 'application/json'))
    expect((unknownField.issues as unknown[]).length).toBeGreaterThan(0)
    await invalid(await post(h, '/api/wa/test', macrea(), { to: '+33612345678', cc: '+33698765432' }))
    expect(h.sim.callCount()).toBe(0)
  })

  it('bad phone numbers and messages', async () => {
    h.sim.resetCallCounts()
    // National French numbers ("0612345678", "06 12 34 56 78"), spaced E.164 and "33612345678"
    // (the country code without "+") are accepted (words-and-looks.test.ts); these fit no plan.
    for (const phoneNumber of ['0612', '+3361', '+33012345678901234', '+99912345678', 33612345678, null]) {
      const body = await invalid(await post(h, '/api/wa/pairing-code', macrea(), { phoneNumber }))
      expect(JSON.stringify(body.issues)).toContain('phoneNumber')
    }
    await invalid(await post(h, '/api/wa/pairing-code', macrea(), {}))
    for (const to of ['nope', '+1', '0698']) await invalid(await post(h, '/api/wa/test', macrea(), { to }))
    const long = await invalid(await post(h, '/api/wa/test', macrea(), { message: 'é'.repeat(1001) }))
    expect(JSON.stringify(long.issues)).toContain('message')
    await invalid(await post(h, '/api/wa/test', macrea(), { message: '' }))
    await invalid(await post(h, '/api/wa/test', macrea(), { message: 42 }))
    expect(h.sim.callCount()).toBe(0)
  })

  it('the wrong verb on a POST route → 405 envelope with Allow', async () => {
    for (const { path } of MUTATING) {
      const res = await get(h, path, macrea())
      expect(res.headers.get('allow')).toBe('POST')
      await expectCode(res, 405, 'METHOD_NOT_ALLOWED')
    }
  })
})

describe('state conflicts (409)', () => {
  it('NOT_CONNECTED: test send with no connection', async () => {
    await expectCode(await post(h, '/api/wa/test', await newTenant()), 409, 'NOT_CONNECTED')
  })

  it('NO_INSTANCE_AVAILABLE: the only instance is claimed by a tenant, another tenant gets none', async () => {
    await linkingTenant()
    const other = await newTenant()
    h.sim.resetCallCounts()
    await expectCode(await post(h, '/api/wa/qr/generate', other), 409, 'NO_INSTANCE_AVAILABLE')
    await expectCode(await post(h, '/api/wa/pairing-code', other, { phoneNumber: '+33611223344' }), 409, 'NO_INSTANCE_AVAILABLE')
    // Nothing but the background state checks of macrea's running attempt reached Green-API.
    expect(h.sim.callCount()).toBe(0)
    expect(await providerRow(other.tenantId)).toBeUndefined()
  })
})

describe('UPSTREAM_UNAVAILABLE (502/503 + Retry-After)', () => {
  const upstream = async (res: Response) => {
    const retry = Number(res.headers.get('retry-after'))
    const body = await expectCode(res, [502, 503], 'UPSTREAM_UNAVAILABLE')
    expect(Number.isInteger(retry) && retry >= 1).toBe(true)
    return body
  }

  it('Green-API down (5xx) on the QR', async () => {
    const { actor, instanceId } = await linkingTenant()
    h.sim.fault({ instanceId, methods: ['qr'] }).down(503)
    await upstream(await post(h, '/api/wa/qr/generate', actor))
    h.sim.clearFaults()
    // Recovers at once (and resets the breaker's consecutive-failure count).
    expect((await post(h, '/api/wa/qr/generate', actor)).status).toBe(200)
  })

  it('Green-API answering garbage, or rate limiting us beyond the deadline', async () => {
    const { actor, instanceId } = await linkingTenant()
    h.sim.fault({ instanceId, methods: ['qr'] }).garbage()
    await upstream(await post(h, '/api/wa/qr/generate', actor))
    h.sim.clearFaults()
    h.sim.fault({ instanceId, methods: ['getAuthorizationCode'] }).rateLimited(30)
    await upstream(await post(h, '/api/wa/pairing-code', actor, { phoneNumber: '+33611223344' }))
  })

  it('Green-API slower than the call deadline', async () => {
    const { actor, instanceId } = await linkingTenant()
    // The upstream would hold the call for 30 s; the 5 s deadline answers long before that (a
    // functional check of the deadline with a wide margin, not a speed assertion).
    h.sim.fault({ instanceId, methods: ['getAuthorizationCode'], times: 1 }).slow(30_000)
    const started = Date.now()
    await upstream(await post(h, '/api/wa/pairing-code', actor, { phoneNumber: '+33611223344' }))
    expect(Date.now() - started).toBeLessThan(20_000)
  }, 25_000)

  it('Green-API down during a test send (live state check)', async () => {
    const { actor, instanceId } = await connectedTenant()
    h.sim.resetCallCounts()
    h.sim.fault({ instanceId, methods: ['getStateInstance'] }).down(502)
    await upstream(await post(h, '/api/wa/test', actor))
    expect(h.sim.callCount({ method: 'sendMessage' })).toBe(0)
  })

  it('ALREADY_CONNECTED: generate and pairing-code once authorized', async () => {
    const { actor } = await connectedTenant()
    await expectCode(await post(h, '/api/wa/qr/generate', actor), 409, 'ALREADY_CONNECTED')
    await expectCode(await post(h, '/api/wa/pairing-code', actor, { phoneNumber: '+33611223344' }), 409, 'ALREADY_CONNECTED')
  })
})

describe('RATE_LIMITED (429 + Retry-After), counted in PostgreSQL', () => {
  const limited = async (res: Response, windowSeconds: number) => {
    const retry = Number(res.headers.get('retry-after'))
    await expectCode(res, 429, 'RATE_LIMITED')
    expect(retry).toBeGreaterThanOrEqual(1)
    expect(retry).toBeLessThanOrEqual(windowSeconds)
  }

  // Another tenant holds the only instance, so the counted requests are cheap 409s.
  it('generate: 10 per minute per tenant, the 11th is refused', async () => {
    await linkingTenant()
    const t = await newTenant()
    await roomInWindow(60)
    for (let i = 0; i < 10; i++) await expectCode(await post(h, '/api/wa/qr/generate', t), 409, 'NO_INSTANCE_AVAILABLE')
    await limited(await post(h, '/api/wa/qr/generate', t), 60)
    // Per tenant: another tenant is not affected.
    await expectCode(await post(h, '/api/wa/qr/generate', await newTenant()), 409, 'NO_INSTANCE_AVAILABLE')
  })

  it('pairing code: 5 per 10 minutes; test send: 5 per hour', async () => {
    await linkingTenant()
    const t = await newTenant()
    await roomInWindow(600)
    for (let i = 0; i < 5; i++)
      await expectCode(await post(h, '/api/wa/pairing-code', t, { phoneNumber: '+33611223344' }), 409, 'NO_INSTANCE_AVAILABLE')
    await limited(await post(h, '/api/wa/pairing-code', t, { phoneNumber: '+33611223344' }), 600)
    await roomInWindow(3600)
    h.sim.resetCallCounts()
    for (let i = 0; i < 5; i++) await expectCode(await post(h, '/api/wa/test', t), 409, 'NOT_CONNECTED')
    await limited(await post(h, '/api/wa/test', t), 3600)
    expect(h.sim.callCount()).toBe(0)
  })

  describe('across processes (a second limiter on its own pool = another app process)', () => {
    const other = otherProcessDb()
    const limiter = new KyselyRateLimiter(other)
    afterAll(() => other.destroy())

    it('hits counted by another process limit this one, and the other way round', async () => {
      await linkingTenant()
      const t = await newTenant()
      await roomInWindow(60)
      // The key format of domain/whatsapp (`wa:qr:<tenant>` etc.).
      for (let i = 0; i < 10; i++) expect((await limiter.hit(`wa:qr:${t.tenantId}`, 10, 60)).allowed).toBe(true)
      h.sim.resetCallCounts()
      await limited(await post(h, '/api/wa/qr/generate', t), 60)

      await roomInWindow(3600)
      for (let i = 0; i < 5; i++) expect((await limiter.hit(`wa:test:${t.tenantId}`, 5, 3600)).allowed).toBe(true)
      await limited(await post(h, '/api/wa/test', t), 3600)

      await roomInWindow(600)
      for (let i = 0; i < 4; i++)
        await expectCode(await post(h, '/api/wa/pairing-code', t, { phoneNumber: '+33611223344' }), 409, 'NO_INSTANCE_AVAILABLE')
      // The API spent 4 of 5: the other process gets the 5th, then is refused with a Retry-After.
      expect((await limiter.hit(`wa:pairing:${t.tenantId}`, 5, 600)).allowed).toBe(true)
      const refused = await limiter.hit(`wa:pairing:${t.tenantId}`, 5, 600)
      expect(refused.allowed).toBe(false)
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1)
      await limited(await post(h, '/api/wa/pairing-code', t, { phoneNumber: '+33611223344' }), 600)
      expect(h.sim.callCount()).toBe(0)
    })
  })
})

describe('robustness', () => {
  it('undecryptable stored credentials are their own envelope (503 CREDENTIALS_UNREADABLE), never a 500 INTERNAL', async () => {
    const { actor } = await connectedTenant()
    expect((await providerRow(actor.tenantId))?.connection_status).toBe('authorized')
    await testDb()
      .updateTable('tenant_provider_configs')
      .set({ encrypted_config: 'v1.k2.AAAA.BBBB.CCCC' })
      .where('tenant_id', '=', actor.tenantId)
      .execute()
    const res = await post(h, '/api/wa/test', actor)
    await expectError(res, 503, 'CREDENTIALS_UNREADABLE')
    // Disconnecting still works (logout is best effort), which is how the user recovers.
    expect((await post(h, '/api/wa/disconnect', actor)).status).toBe(200)
    expect(await providerRow(actor.tenantId)).toBeUndefined()
  })

  describe('property-based: fuzzed bodies and headers never give a 5xx, always the envelope', () => {
    // Fuzzed bodies may link f (a valid generate or pairing code): it gives the instance back.
    let f: TenantActor
    beforeAll(async () => {
      f = await newTenant()
    })
    afterEach(() => {
      holders.push(f)
    })
    const POST_ROUTES = MUTATING.map((m) => m.path)
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 })
    const contentType = fc.oneof(
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/merge-patch+json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        '',
      ),
      printable,
    )
    const body = fc.oneof(
      fc.json({ maxDepth: 3 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            phoneNumber: fc.oneof(printable, fc.constant('+33611223344')),
            to: fc.option(printable, { nil: undefined }),
            message: fc.option(fc.string({ maxLength: 1200 }), { nil: undefined }),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 200 }),
    )

    async function check(res: Response) {
      const text = await res.text()
      expect(text).not.toMatch(STACK_LINE)
      if (res.status >= 500) {
        // Only Green-API trouble may answer 5xx, and then with the envelope.
        expect(JSON.parse(text)).toMatchObject({ ok: false, error: 'UPSTREAM_UNAVAILABLE' })
        return
      }
      if (res.status >= 400) {
        const parsed = JSON.parse(text) as Record<string, unknown>
        expect(parsed.ok).toBe(false)
        expect(typeof parsed.error).toBe('string')
        expect(typeof parsed.message).toBe('string')
      }
    }

    it('bodies × content types on the POST routes', async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...POST_ROUTES), body, contentType, async (path, payload, type) => {
          const res = await raw(path, {
            method: 'POST',
            headers: { authorization: `Bearer ${f.token}`, 'x-tenant': f.tenantId, ...(type ? { 'content-type': type } : {}) },
            body: payload,
          })
          expect(res.status).toBeLessThan(500)
          await check(res)
        }),
        { numRuns: 40 },
      )
    })

    it('X-Tenant, Accept-Language and Authorization values on every route', async () => {
      const routes = [
        ...POST_ROUTES.map((p) => ({ path: p, method: 'POST' })),
        ...GET_ROUTES.filter((p) => !p.endsWith('/events')).map((p) => ({ path: p, method: 'GET' })),
      ]
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...routes),
          fc.oneof(printable, fc.constantFrom('macrea', 'test_tenant_blocked', f.tenantId, 'MACREA', '', 'macrea,macrea')),
          printable,
          fc.oneof(
            fc.constant(`Bearer ${f.token}`),
            printable.map((s) => `Bearer ${s}`),
            printable,
          ),
          async (route, tenant, lang, authorization) => {
            const res = await raw(route.path, {
              method: route.method,
              headers: {
                authorization,
                'x-tenant': tenant,
                'accept-language': lang,
                ...(route.method === 'POST' ? { 'content-type': 'application/json' } : {}),
              },
              ...(route.method === 'POST' ? { body: '{}' } : {}),
            })
            expect(res.status).toBeLessThan(500)
            await check(res)
          },
        ),
        { numRuns: 40 },
      )
    })

    it('the webhook route: any instance id, token and body → 401 or 200, never 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String),
            printable.filter((s) => s.length > 0),
          ),
          printable,
          body,
          async (id, token, payload) => {
            const res = await raw(`/api/wa/webhooks/green-api/${encodeURIComponent(id)}`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body: payload,
            })
            expect([401, 404, 405]).toContain(res.status)
            await check(res)
          },
        ),
        { numRuns: 20 },
      )
    })
  })
})

// Not a test of its own (that would need every other test to have run first): when the whole
// file ran, it must have reached every code of the docs/api.md#errors table (INSTANCE_BUSY:
// api-isolation-shared.test.ts). A filtered run (-t) checks nothing here.
afterAll(({}, file) => {
  const tests = allTests(file)
  if (tests.some((t) => t.mode !== 'run')) return
  const table = [
    'UNAUTHENTICATED',
    'TENANT_FORBIDDEN',
    'FORBIDDEN_ROLE',
    'WHATSAPP_DISABLED',
    'VALIDATION_FAILED',
    'PAYLOAD_TOO_LARGE',
    'NOT_CONNECTED',
    'ALREADY_CONNECTED',
    'NO_INSTANCE_AVAILABLE',
    'RATE_LIMITED',
    'UPSTREAM_UNAVAILABLE',
  ]
  expect([...reached.keys()].sort()).toEqual(expect.arrayContaining(table))
  expect([...reached.get('VALIDATION_FAILED')!]).toEqual(expect.arrayContaining([400]))
})

function allTests(suite: Readonly<RunnerTestSuite>): RunnerTask[] {
  return suite.tasks.flatMap((t) => (t.type === 'suite' ? allTests(t) : [t]))
}
