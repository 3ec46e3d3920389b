import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { expectError, get, newTenant, post } from './api-support'
import { createEndpoint, messageEvent, startReceiver, testEventSink, type Receiver } from './webhook-support'

/**
 * The production target policy (WEBHOOK_ALLOW_PRIVATE=0, WEBHOOK_HTTPS_ONLY=1, what NODE_ENV=
 * production defaults to) through HTTP: refusals at create, and at connect time on the address
 * the socket resolves — a name that answered a public address at create and 127.0.0.1 later
 * (DNS rebinding) is never connected to. DNS is a resolver this file controls (boot option).
 */
const answers = new Map<string, string[]>()
const lookups: string[] = []
const resolver = async (hostname: string) => {
  lookups.push(hostname)
  const next = answers.get(hostname)
  if (!next || next.length === 0) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
  // Several answers queued: one per lookup, the last one sticks.
  const address = next.length > 1 ? next.shift()! : next[0]!
  return address.split(',').map((a) => ({ address: a, family: a.includes(':') ? 6 : 4 }))
}
const h = useWaApp({
  env: { WEBHOOK_ALLOW_PRIVATE: '0', WEBHOOK_HTTPS_ONLY: '1' },
  bootOptions: { webhookResolver: resolver },
})
let rx: Receiver
beforeAll(async () => {
  rx = await startReceiver()
})
afterAll(async () => {
  await rx?.close()
})

describe('target policy in production', () => {
  it('refuses plain http, private, loopback, link-local, CGNAT and mapped addresses, and names resolving to them, at create', async () => {
    const owner = await newTenant()
    answers.set('localhost', ['127.0.0.1'])
    answers.set('split.example.test', ['93.184.216.34,10.0.0.5'])
    answers.set('crm.example.test', ['93.184.216.34'])
    const refusals: Array<[string, string]> = [
      ['http://crm.example.test/hook', 'https_required'],
      ['https://127.0.0.1/hook', 'private_address'],
      ['https://10.1.2.3/hook', 'private_address'],
      ['https://172.20.0.1/hook', 'private_address'],
      ['https://192.168.1.10/hook', 'private_address'],
      ['https://169.254.169.254/latest/meta-data/', 'private_address'],
      ['https://100.64.1.1/hook', 'private_address'],
      ['https://[::1]/hook', 'private_address'],
      ['https://[::ffff:127.0.0.1]/hook', 'private_address'],
      ['https://[fd00::1]/hook', 'private_address'],
      ['https://0.0.0.0/hook', 'private_address'],
      ['https://2130706433/hook', 'private_address'], // 127.0.0.1 written as one number
      ['https://localhost/hook', 'private_address'],
      ['https://split.example.test/hook', 'private_address'],
      ['https://nowhere.example.test/hook', 'unresolvable'],
    ]
    for (const [url, reason] of refusals) {
      const body = await expectError(await post(h, '/api/wa/webhook-endpoints', owner, { url }), 400, 'WEBHOOK_URL_REFUSED')
      expect(body.issues, url).toEqual([{ path: 'url', message: expect.stringMatching(new RegExp(`^${reason}: `)) }])
    }
    expect(
      await testDb().selectFrom('wa_webhook_endpoints').select('id').where('tenant_id', '=', owner.tenantId).execute(),
    ).toEqual([])
    // A public https endpoint is accepted.
    await createEndpoint(h, owner, { url: 'https://crm.example.test/hooks/wa' })
  })

  it('refuses at connect time a name that resolved to a public address at create and to 127.0.0.1 now', async () => {
    const owner = await newTenant()
    // Create sees a public address, every later lookup (the socket's) 127.0.0.1.
    answers.set('localhost', ['93.184.216.34', '127.0.0.1'])
    const { id } = await createEndpoint(h, owner, { url: `https://localhost:${rx.port}/rebind` })
    const before = lookups.length
    await testEventSink().emit(owner.tenantId, messageEvent('rebinding'))
    const delivery = await eventually(async () => {
      const res = await get(h, `/api/wa/webhook-endpoints/${id}/deliveries`, owner)
      const [d] = ((await res.json()) as { deliveries: Array<Record<string, any>> }).deliveries
      expect(d).toMatchObject({ status: 'failed', attempts: 1 })
      return d!
    }, 20_000)
    expect(delivery.attemptLog).toEqual([{ at: expect.any(String), error: 'private_address', durationMs: expect.any(Number) }])
    // The socket's own lookup ran (no second, unchecked resolution) and nothing reached the receiver.
    expect(lookups.slice(before)).toContain('localhost')
    expect(rx.received).toEqual([])
  })
})
