import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testDb } from '../utils/db'
import { eventually } from '../utils/wa-harness'
import { childToken, startAppProcess, startSimulatorServer, type AppProcess } from './reliability-support'

/**
 * Two app processes (`npm start` each, each running job workers) on one database and one
 * Green-API instance: messages posted to either are sent once each, oldest first, and the
 * instance's pace holds across both processes (graphile-worker runs one job of the instance's
 * queue at a time; the pace is measured from the database).
 */
const INTERVAL_MS = 250
let simServer: Awaited<ReturnType<typeof startSimulatorServer>>
let instanceId = ''
let a: AppProcess
let b: AppProcess
let ownerId = ''

beforeAll(async () => {
  simServer = await startSimulatorServer()
  const creds = simServer.sim.addInstance()
  instanceId = creds.instanceId
  const env = {
    GREENAPI_MODE: 'shared',
    GREENAPI_INSTANCE_ID: creds.instanceId,
    GREENAPI_API_TOKEN: creds.apiToken,
    GREENAPI_BASE_URL: simServer.baseUrl,
    WA_SEND_INTERVAL_MS: String(INTERVAL_MS),
    WA_JOB_POLL_INTERVAL_MS: '100',
    WA_RATE_LIMIT_MESSAGES: '1000/60',
  }
  a = await startAppProcess(env)
  b = await startAppProcess(env)
  ownerId = (await testDb().selectFrom('users').select('id').where('email', '=', 'admin@macrea.test').executeTakeFirstOrThrow())
    .id
}, 180_000)

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await simServer?.close()
})

describe('messages with two app processes', () => {
  it('each message is sent once, in order, never faster than the instance pace across processes', async () => {
    const headers = { authorization: `Bearer ${await childToken(ownerId, 'macrea')}`, 'content-type': 'application/json' }
    const gen = await fetch(`${a.url}/api/wa/qr/generate`, { method: 'POST', headers, body: '{}' })
    expect(gen.status).toBe(200)
    expect(simServer.sim.scan(instanceId, simServer.sim.currentQrNonce(instanceId) ?? '', '+33612345678').ok).toBe(true)
    await simServer.sim.flushWebhooks()
    await eventually(async () => {
      const s = await (await fetch(`${b.url}/api/wa/qr/status`, { headers })).json()
      expect(s).toMatchObject({ connected: true })
    }, 15_000)

    const ids: string[] = []
    for (let i = 0; i < 12; i++) {
      const app = i % 2 === 0 ? a : b
      const res = await fetch(`${app.url}/api/wa/messages`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ to: '+33698765432', text: `scale ${i}` }),
      })
      expect(res.status, await res.clone().text()).toBe(202)
      ids.push(((await res.json()) as { message: { id: string } }).message.id)
    }
    await eventually(async () => {
      const rows = await testDb().selectFrom('wa_messages').select('status').where('id', 'in', ids).execute()
      // Sent, or already further along once the simulator's receipts came back.
      expect(rows.filter((r) => ['sent', 'delivered', 'read'].includes(r.status))).toHaveLength(12)
    }, 30_000)
    const sent = simServer.sim.instance(instanceId)!.sent
    expect(sent.map((m) => m.message)).toEqual(Array.from({ length: 12 }, (_, i) => `scale ${i}`))
    expect(simServer.sim.callCount({ instanceId, method: 'sendMessage' })).toBe(12)
    const times = sent.map((m) => m.at)
    const perSecond = Math.max(...times.map((t) => times.filter((u) => u >= t && u <= t + 1000).length))
    expect(perSecond).toBeLessThanOrEqual(1000 / INTERVAL_MS + 1)
  }, 90_000)
})
