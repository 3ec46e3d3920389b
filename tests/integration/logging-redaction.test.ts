import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../app/utils/logger.server'
import { TEST_PASSWORD, sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { decodeQr, eventually, useWaApp } from '../utils/wa-harness'

/**
 * Canary secrets planted in requests and credentials never reach the logs: the app's pino
 * stream (LOG_FILE, at trace level) is captured during a full journey and searched.
 */
const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-logs-')), 'app.log')
const CANARY_COOKIE = 'canaryCookieValue_7f3a9c'
const CANARY_QUERY = 'canaryQueryToken_51be'

describe('log redaction during a full journey', () => {
  const h = useWaApp({ env: { LOG_LEVEL: 'trace', LOG_FILE: logFile } })

  it('logs one structured line per request and no secret at all', async () => {
    const owner = { token: h.tokens.owner, tenant: 'macrea' }
    // Sign in with the password (form POST), plus a cookie and a query token that mean nothing.
    const login = await fetch(`${h.app.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: h.app.url, cookie: `other=${CANARY_COOKIE}` },
      body: new URLSearchParams({ email: 'admin@macrea.test', password: TEST_PASSWORD }),
    })
    expect(login.status).toBeLessThan(400)
    const badLogin = await fetch(`${h.app.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: h.app.url },
      body: new URLSearchParams({ email: 'admin@macrea.test', password: `${TEST_PASSWORD}-wrong` }),
    })
    expect(badLogin.status).toBeGreaterThanOrEqual(200)
    const cookie = await sessionCookie(testDb(), h.users.owner)
    await h.api(`/api/wa/qr/status?token=${CANARY_QUERY}`, { ...owner, headers: { cookie } })

    const gen = await (await h.api('/api/wa/qr/generate', { method: 'POST', ...owner, json: {} })).json()
    const [instanceId, nonce] = new URL(await decodeQr(gen.qrCode)).pathname.split('/').slice(-2) as [string, string]
    expect(h.sim.scan(instanceId, nonce).ok).toBe(true)
    await h.sim.flushWebhooks()
    await eventually(async () =>
      expect(await (await h.api('/api/wa/qr/status', owner)).json()).toMatchObject({ connected: true }),
    )
    // A webhook with a wrong token, and an upstream failure (the client must not log the URL with the token).
    await h.api(`/api/wa/webhooks/green-api/${instanceId}`, {
      method: 'POST',
      token: 'wrong-webhook-token-canary',
      json: { typeWebhook: 'stateInstanceChanged' },
    })
    h.sim.fault({ instanceId }).down()
    await h.api('/api/wa/test', { method: 'POST', ...owner, json: { phoneNumber: '+33612345678' } })
    h.mocks.reset()
    await h.api('/api/wa/disconnect', { method: 'POST', ...owner, json: {} })
    await h.api('/api/wa/qr/status', { token: h.tokens.member, tenant: 'macrea' })

    const inst = h.sim.instance(instanceId)!
    const envelopes = [
      ...(await testDb().selectFrom('wa_instances').select(['encrypted_token', 'encrypted_webhook_token']).execute()).flatMap(
        (r) => [r.encrypted_token, r.encrypted_webhook_token],
      ),
    ].filter((e): e is string => !!e)
    const sessionId = cookie.split('=')[1]!
    const canaries: Record<string, string> = {
      instanceToken: inst.apiToken,
      webhookToken: inst.webhookToken,
      ownerJwt: h.tokens.owner,
      memberJwt: h.tokens.member,
      jwtSignature: h.tokens.owner.split('.')[2]!,
      password: TEST_PASSWORD,
      cookie: CANARY_COOKIE,
      sessionId,
      queryToken: CANARY_QUERY,
      wrongWebhookToken: 'wrong-webhook-token-canary',
      ...Object.fromEntries(h.sim.listInstances().map((i) => [`simToken${i.instanceId}`, i.apiToken])),
      ...Object.fromEntries(envelopes.map((e, i) => [`envelope${i}`, e.slice(0, 40)])),
    }
    expect(inst.apiToken.length).toBeGreaterThan(10)

    const text = await eventually(async () => {
      const t = fs.readFileSync(logFile, 'utf8')
      expect(t).toContain('routes/api.wa.disconnect')
      return t
    })
    for (const [name, secret] of Object.entries(canaries)) {
      expect(text.includes(secret), `${name} leaked into the logs`).toBe(false)
    }

    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    const requests = lines.filter((l) => l.msg === 'request' || l.msg === 'request failed')
    const generate = requests.find((l) => l.route === 'routes/api.wa.qr.generate')
    expect(generate).toMatchObject({ method: 'POST', status: 200, tenant: 'macrea', path: '/api/wa/qr/generate' })
    expect(generate?.reqId).toMatch(/^[0-9a-f-]{36}$/)
    expect(typeof generate?.durationMs).toBe('number')
    const webhook = requests.find((l) => typeof l.route === 'string' && (l.route as string).includes('webhooks'))
    expect(webhook?.route).toBe('routes/api.wa.webhooks.green-api.$instanceId')
    // No line carries headers, query strings or bodies.
    for (const l of requests) {
      expect(l).not.toHaveProperty('headers')
      expect(String(l.path)).not.toContain('?')
    }
  })
})

describe('logger redaction rules', () => {
  it('censors sensitive keys at any depth and scrubs tokens inside strings', () => {
    const chunks: string[] = []
    const sink = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk))
        cb()
      },
    })
    const log = createLogger('info', sink)
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLWNhbmFyeQ'
    log.info(
      {
        req: { headers: { authorization: 'Bearer abc-canary-1', cookie: 'sid=canary-2' } },
        url: 'https://7105.api.greenapi.com/waInstance7105000001/sendMessage/canaryToken3abc',
        nested: {
          deeper: { apiTokenInstance: 'canary-4', password: 'canary-5', encryptedConfig: 'v1.k2.canary6canary6canary6canary6' },
        },
        partner: 'GET https://api.green-api.com/partner/getInstances/canaryPartner7',
        note: `token in text ${jwt} and v1.k2.QUJDREVGR0hJSktMTU5PUFFSU1RVVg and Bearer canary-8`,
        err: new Error('failed at /waInstance1/qr/canary9token'),
      },
      `message with /waInstance7105000001/qr/canary10token and ${jwt}`,
    )
    const out = chunks.join('')
    for (const c of [
      'canary-1',
      'canary-2',
      'canaryToken3',
      'canary-4',
      'canary-5',
      'canary6',
      'canaryPartner7',
      'c2lnbmF0dXJlLWNhbmFyeQ',
      'QUJDREVGR0hJSktMTU5PUFFSU1RVVg',
      'canary-8',
      'canary9',
      'canary10',
    ]) {
      expect(out, c).not.toContain(c)
    }
    expect(out).toContain('/waInstance7105000001/sendMessage/[REDACTED]')
    expect(JSON.parse(out)).toMatchObject({ nested: { deeper: { password: '[REDACTED]' } } })
  })
})
