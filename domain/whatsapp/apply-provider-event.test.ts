import { describe, expect, it } from 'vitest'
import { createTestWorld, type TestWorld } from '../testing/test-deps'
import { applyProviderEvent, tokenFromAuthorization } from './apply-provider-event'
import { generateQr } from './generate-qr'
import { WEBHOOK_TOKEN_LOCATION } from './use-case-helpers'
import { InvalidInputError, WebhookUnauthorizedError } from './whatsapp.errors'

const actor = { kind: 'user', userId: 'u-1' } as const
// Unix seconds, a minute before the test world's clock (events older than 24 h are refused).
const T0 = Date.parse('2026-11-25T10:00:00.000Z') / 1000 - 60

async function linking(w: TestWorld): Promise<string> {
  w.addInstance('1101000001')
  await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
  const env = w.instances.rows.get('1101000001')?.encryptedWebhookToken ?? ''
  return w.vault.decrypt(env, WEBHOOK_TOKEN_LOCATION)
}

function stateEvent(state: string, timestamp: number, wid = '') {
  return {
    typeWebhook: 'stateInstanceChanged',
    instanceData: { idInstance: 1101000001, wid, typeInstance: 'whatsapp' },
    timestamp,
    stateInstance: state,
  }
}

describe('applyProviderEvent', () => {
  it('accepts "Bearer <t>" and bare "<t>"; stateInstanceChanged updates state and phone from wid', async () => {
    const w = createTestWorld()
    const token = await linking(w)
    const r = await applyProviderEvent(w.deps, {
      instanceId: '1101000001',
      authorizationHeader: `Bearer ${token}`,
      event: stateEvent('authorized', T0, '33612345678@c.us'),
    })
    expect(r).toEqual({ applied: true, outcome: 'changed' })
    expect(w.connections.rows.get('acme')).toMatchObject({
      status: 'authorized',
      account: { phone: '+33612345678' },
      isActive: true,
    })
    expect(w.connections.timeline.at(-1)).toMatchObject({ source: 'webhook', to: 'authorized' })
    expect(w.publisher.published).toEqual([
      { tenantId: 'acme', connected: true, status: 'authorized', account: { phone: '+33612345678' }, checkedAt: w.clock.now() },
    ])
    // Duplicate delivery: same state, no new timeline entry.
    const again = await applyProviderEvent(w.deps, {
      instanceId: '1101000001',
      authorizationHeader: token,
      event: stateEvent('authorized', T0, '33612345678@c.us'),
    })
    expect(again).toEqual({ applied: true, outcome: 'unchanged' })
    expect(w.connections.timeline.filter((e) => e.source === 'webhook')).toHaveLength(1)
    expect(w.provider.count('getState')).toBe(0)
  })

  it('out-of-order: an event older than the last applied one is ignored', async () => {
    const w = createTestWorld()
    const token = await linking(w)
    const auth = `Bearer ${token}`
    await applyProviderEvent(w.deps, {
      instanceId: '1101000001',
      authorizationHeader: auth,
      event: stateEvent('authorized', T0 + 10, '33612345678@c.us'),
    })
    const old = await applyProviderEvent(w.deps, {
      instanceId: '1101000001',
      authorizationHeader: auth,
      event: stateEvent('starting', T0 + 5),
    })
    expect(old).toEqual({ applied: false, reason: 'stale' })
    expect(w.connections.rows.get('acme')?.status).toBe('authorized')
    const newer = await applyProviderEvent(w.deps, {
      instanceId: '1101000001',
      authorizationHeader: auth,
      event: stateEvent('notAuthorized', T0 + 11),
    })
    expect(newer).toEqual({ applied: true, outcome: 'changed' })
    expect(w.connections.rows.get('acme')).toMatchObject({ status: 'notAuthorized', account: null })
  })

  it.each([
    ['missing header', null],
    ['empty header', ''],
    ['wrong token', 'Bearer nope'],
    ['wrong scheme with spaces', 'Basic a b'],
  ])('%s → WebhookUnauthorizedError and no change', async (_label, header) => {
    const w = createTestWorld()
    await linking(w)
    await expect(
      applyProviderEvent(w.deps, {
        instanceId: '1101000001',
        authorizationHeader: header,
        event: stateEvent('authorized', T0, '33612345678@c.us'),
      }),
    ).rejects.toBeInstanceOf(WebhookUnauthorizedError)
    expect(w.connections.rows.get('acme')?.status).toBe('notAuthorized')
    expect(w.publisher.published).toHaveLength(0)
  })

  it('unknown instance, or a released one, → WEBHOOK_UNAUTHORIZED', async () => {
    const w = createTestWorld()
    const token = await linking(w)
    await expect(applyProviderEvent(w.deps, { instanceId: '999', authorizationHeader: token, event: {} })).rejects.toMatchObject({
      code: 'WEBHOOK_UNAUTHORIZED',
    })
    await w.instances.release('1101000001', 'acme')
    await expect(
      applyProviderEvent(w.deps, { instanceId: '1101000001', authorizationHeader: token, event: {} }),
    ).rejects.toMatchObject({ code: 'WEBHOOK_UNAUTHORIZED' })
  })

  it("another tenant's token cannot be replayed after the instance changes hands", async () => {
    const w = createTestWorld()
    const token = await linking(w)
    await w.instances.release('1101000001', 'acme')
    w.connections.rows.clear()
    w.features.setFlags('beta', { whatsapp_enabled: true })
    await generateQr(w.deps, { tenantId: 'beta', actor, publicUrl: 'https://crm.example.test' })
    await expect(
      applyProviderEvent(w.deps, { instanceId: '1101000001', authorizationHeader: token, event: stateEvent('authorized', T0) }),
    ).rejects.toBeInstanceOf(WebhookUnauthorizedError)
  })

  it('a stored token encrypted for another column does not decrypt → unauthorized', async () => {
    const w = createTestWorld()
    const token = await linking(w)
    const inst = w.instances.rows.get('1101000001')
    const elsewhere = { ...WEBHOOK_TOKEN_LOCATION, column: 'encrypted_token' }
    if (inst) w.instances.rows.set('1101000001', { ...inst, encryptedWebhookToken: w.vault.encrypt(token, elsewhere) })
    await expect(
      applyProviderEvent(w.deps, { instanceId: '1101000001', authorizationHeader: token, event: {} }),
    ).rejects.toBeInstanceOf(WebhookUnauthorizedError)
  })

  it('authenticated but irrelevant or malformed events are acknowledged and ignored', async () => {
    const w = createTestWorld()
    const token = await linking(w)
    const call = (event: unknown) => applyProviderEvent(w.deps, { instanceId: '1101000001', authorizationHeader: token, event })
    expect(await call({ typeWebhook: 'incomingMessageReceived', timestamp: T0 })).toEqual({
      applied: false,
      reason: 'ignored_type',
    })
    expect(await call('garbage')).toEqual({ applied: false, reason: 'invalid_event' })
    expect(await call(stateEvent('weird', T0))).toEqual({ applied: false, reason: 'invalid_event' })
    expect(await call({ ...stateEvent('authorized', T0), instanceData: { idInstance: 42 } })).toEqual({
      applied: false,
      reason: 'instance_mismatch',
    })
    expect(w.connections.rows.get('acme')?.status).toBe('notAuthorized')
  })

  it('event times are accepted within [now − 24 h, now + 5 min], bounds included, as integer seconds only', async () => {
    const w = createTestWorld()
    const token = await linking(w)
    const now = w.clock.now().getTime() / 1000
    const call = (timestamp: unknown) =>
      applyProviderEvent(w.deps, {
        instanceId: '1101000001',
        authorizationHeader: token,
        event: { typeWebhook: 'incomingMessageReceived', timestamp },
      })
    for (const ok of [now - 24 * 3600, now, now + 300]) expect(await call(ok)).toEqual({ applied: false, reason: 'ignored_type' })
    for (const bad of [now - 24 * 3600 - 1, now + 301, now + 0.5, 1e15, Number.NaN, '1795000000']) {
      await expect(call(bad)).rejects.toBeInstanceOf(InvalidInputError)
    }
  })

  it('no provider row (disconnected) → no_connection', async () => {
    const w = createTestWorld()
    const token = await linking(w)
    await w.connections.delete('acme', w.clock.now())
    expect(
      await applyProviderEvent(w.deps, {
        instanceId: '1101000001',
        authorizationHeader: token,
        event: stateEvent('authorized', T0),
      }),
    ).toEqual({
      applied: false,
      reason: 'no_connection',
    })
  })

  it('tokenFromAuthorization', () => {
    expect(tokenFromAuthorization('Bearer abc')).toBe('abc')
    expect(tokenFromAuthorization('bearer   abc ')).toBe('abc')
    expect(tokenFromAuthorization('abc')).toBe('abc')
    expect(tokenFromAuthorization('Bearer a b')).toBeNull()
    expect(tokenFromAuthorization(undefined)).toBeNull()
  })
})
