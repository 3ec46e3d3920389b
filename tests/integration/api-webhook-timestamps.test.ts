import { describe, expect, it } from 'vitest'
import { eventually, useWaApp } from '../utils/wa-harness'
import { expectError, linkByScan, newTenant, post, providerRow } from './api-support'

// Webhook event times are bounded to [now − 24 h, now + 5 min] (issue 13): before, an event
// dated 2100 made every later webhook "stale" and `timestamp: 1e15` answered 500.
const h = useWaApp()

const nowSeconds = () => Math.floor(Date.now() / 1000)
const stateEvent = (instanceId: string, state: string, timestamp: unknown) => ({
  typeWebhook: 'stateInstanceChanged',
  instanceData: { idInstance: Number(instanceId), wid: '33612345678@c.us', typeInstance: 'whatsapp' },
  timestamp,
  stateInstance: state,
})
const hook = (instanceId: string, body: unknown, token?: string) =>
  fetch(`${h.app.url}/api/wa/webhooks/green-api/${instanceId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  })

describe('POST /api/wa/webhooks/green-api/:instanceId — event timestamps', () => {
  it('refuses times out of range or not integer seconds with a 400 envelope, changes nothing, and later events still apply', async () => {
    const w = await newTenant()
    const instanceId = await linkByScan(h, w, '+33612345678')
    const token = h.sim.instance(instanceId)!.webhookToken
    // The profile job writes the row once after the link (decision 242): snapshot after it.
    const before = await eventually(async () => {
      const row = await providerRow(w.tenantId)
      expect(row?.profile_fetched_at).not.toBeNull()
      return row
    })
    expect(before?.connection_status).toBe('authorized')

    const hostile: unknown[] = [
      4102444800, // 2100-01-01
      1e15,
      Number.MAX_SAFE_INTEGER + 2,
      nowSeconds() + 0.5,
      nowSeconds() - 25 * 3600,
      nowSeconds() + 10 * 60,
      -1,
      String(nowSeconds()),
      null,
    ]
    for (const timestamp of hostile) {
      const body = await expectError(
        await hook(instanceId, stateEvent(instanceId, 'yellowCard', timestamp), token),
        400,
        'VALIDATION_FAILED',
      )
      expect(body.issues, String(timestamp)).toEqual([expect.objectContaining({ path: 'timestamp' })])
    }
    // Other notification types too; and authentication still comes first.
    await expectError(
      await hook(instanceId, { typeWebhook: 'incomingMessageReceived', timestamp: 4102444800 }, token),
      400,
      'VALIDATION_FAILED',
    )
    await expectError(await hook(instanceId, stateEvent(instanceId, 'yellowCard', 4102444800)), 401, 'WEBHOOK_UNAUTHORIZED')
    expect(await providerRow(w.tenantId)).toEqual(before)

    // Inside the bounds: a slightly early clock is fine, and nothing froze the later events.
    const ahead = await hook(instanceId, stateEvent(instanceId, 'yellowCard', nowSeconds() + 4 * 60), token)
    expect(ahead.status).toBe(200)
    expect(await ahead.json()).toEqual({ ok: true, applied: true })
    expect(await providerRow(w.tenantId)).toMatchObject({ connection_status: 'yellowCard' })
    const old = await hook(instanceId, stateEvent(instanceId, 'blocked', nowSeconds() - 23 * 3600), token)
    expect(old.status).toBe(200)
    expect(await old.json()).toEqual({ ok: true, applied: false }) // older than the last applied one
    expect((await post(h, '/api/wa/disconnect', w)).status).toBe(200)
  })
})
