import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { envelopeKeyId } from '../../adapters/crypto/aes-gcm-credential-vault'
import { SECRET_COLUMNS } from '../../adapters/kysely/kysely-secret-rows'
import { TEST_ENCRYPTION_KEYS } from '../utils/app'
import { testDb } from '../utils/db'
import { runOps } from '../utils/ops-cli'
import { eventually, useWaApp } from '../utils/wa-harness'
import { get, newTenant, post, scanTarget, statusOf } from './api-support'
import { send, waitForStatus } from './api-messages-support'
import { createEndpoint, pullRetriesForward, startReceiver, type Receiver } from './webhook-support'

/**
 * Key rotation moves every encrypted value, not only credentials: after `ops keys rotate` and
 * a restart with the old keys dropped, what a tenant stored under them still reads over HTTP —
 * message texts and numbers (both directions), the linked profile (name and picture), the CRM
 * endpoint's signing secret (a resend verifies with the secret shown at creation), the stored
 * event and an attempt's response excerpt. Before, `keys verify` called the old keys removable
 * while all of these were still under them.
 */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-rotation-'))
const h = useWaApp({ instances: 3 })
let rx: Receiver
const SLOW = 20_000

beforeAll(async () => {
  rx = await startReceiver()
})
afterAll(async () => {
  await rx?.close()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

const ops = (args: string[], env: Record<string, string> = {}) => runOps(args, { env: { WA_DATA_DIR: dataDir, ...env } })

/** Every envelope of every encrypted column, with its key id. */
async function keyIdsInUse(): Promise<Set<string>> {
  const ids = new Set<string>()
  for (const { table, column } of SECRET_COLUMNS) {
    const { rows } = await sql<{ envelope: string }>`select ${sql.ref(column)} as envelope from ${sql.table(table)}
      where ${sql.ref(column)} is not null`.execute(testDb())
    for (const r of rows) ids.add(envelopeKeyId(r.envelope) ?? '(malformed)')
  }
  return ids
}

describe('key rotation covers every encrypted value', () => {
  it('after rotate and a restart without the old keys: messages, profile, CRM secret, events and attempts still read', async () => {
    const owner = await newTenant()

    // A link with a profile (name and picture), a CRM endpoint whose first answer fails (an
    // attempt with a response excerpt), a message each way.
    const { secret, id: endpointId } = await createEndpoint(h, owner, {
      url: rx.url('/crm'),
      events: ['whatsapp.connection.updated'],
    })
    rx.answer('/crm', 500)
    const res = await post(h, '/api/wa/qr/generate', owner)
    expect(res.status).toBe(200)
    const { instanceId, nonce } = await scanTarget(((await res.json()) as { qrCode: string }).qrCode)
    h.sim.setProfile(instanceId, { name: 'Rotation Canary', avatar: 'image' })
    expect(h.sim.scan(instanceId, nonce, '+33611112222')).toMatchObject({ ok: true })
    const linked = await eventually(async () => {
      const s = await statusOf(h, owner)
      expect(s).toMatchObject({ connected: true, profileName: 'Rotation Canary', pictureUrl: expect.any(String) })
      return s
    }, SLOW)
    const pictureBefore = Buffer.from(await (await get(h, linked.pictureUrl as string, owner)).arrayBuffer())
    expect(pictureBefore.length).toBeGreaterThan(0)

    const out = await send(h, owner, { to: '+33698765432', text: 'Texte sortant à garder' })
    expect(out.res.status).toBe(202)
    await waitForStatus(h, owner, out.message.id, 'sent')
    expect(h.sim.injectIncoming(instanceId, { from: '+33687654321', text: 'Texte entrant à garder' })).toMatchObject({ ok: true })
    await h.sim.flushWebhooks()

    const deliveries = async () => {
      const r = await get(h, `/api/wa/webhook-endpoints/${endpointId}/deliveries`, owner)
      expect(r.status).toBe(200)
      return ((await r.json()) as { deliveries: Array<{ id: string; status: string; attemptLog: Array<{ response?: string }> }> })
        .deliveries
    }
    const failedFirst = (d: { attemptLog: Array<{ response?: string }> }) =>
      d.attemptLog.some((a) => a.response?.startsWith('failure 500 xxx'))
    // The first try failed with a body (stored encrypted); its retry is pulled forward and succeeds.
    await eventually(async () => {
      await pullRetriesForward()
      const all = await deliveries()
      expect(
        all.some((d) => d.status === 'succeeded' && failedFirst(d)),
        JSON.stringify(all),
      ).toBe(true)
    }, SLOW)
    const messagesBefore = await (await get(h, '/api/wa/messages?limit=10', owner)).json()

    // Rotate (a new current key), then restart with the new key alone: the old ones are gone.
    const rotate = await ops(['keys', 'rotate'])
    expect(rotate.code, rotate.stderr).toBe(0)
    const ring = /^WA_ENCRYPTION_KEYS=(.+)$/.exec(rotate.stdout.trim())?.[1]
    expect(ring?.startsWith(`${TEST_ENCRYPTION_KEYS},`)).toBe(true)
    const newKeyOnly = ring!.split(',').at(-1)!
    const newKeyId = newKeyOnly.split(':')[0]!
    expect([...(await keyIdsInUse())]).toEqual([newKeyId])
    const verify = await ops(['keys', 'verify'], { WA_ENCRYPTION_KEYS: newKeyOnly })
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)

    await h.restart({ WA_ENCRYPTION_KEYS: newKeyOnly })

    // Messages: the same texts and numbers.
    const messagesAfter = await get(h, '/api/wa/messages?limit=10', owner)
    expect(messagesAfter.status).toBe(200)
    const after = (await messagesAfter.json()) as { messages: Array<{ text: string; peer: string }> }
    expect(after).toEqual(messagesBefore)
    expect(after.messages.map((m) => m.text).sort()).toEqual(['Texte entrant à garder', 'Texte sortant à garder'])
    // The profile: the name in the status, the same picture bytes.
    const status = await statusOf(h, owner)
    expect(status).toMatchObject({ connected: true, profileName: 'Rotation Canary', pictureUrl: linked.pictureUrl })
    const picture = await get(h, status.pictureUrl as string, owner)
    expect(picture.status).toBe(200)
    expect(Buffer.from(await picture.arrayBuffer()).equals(pictureBefore)).toBe(true)
    // The attempt's excerpt, and a resend signed with the secret shown at creation.
    const delivery = (await deliveries()).find(failedFirst)
    expect(delivery).toBeDefined()
    const seen = rx.on('/crm').length
    const resend = await post(h, `/api/wa/webhook-endpoints/deliveries/${delivery!.id}/resend`, owner)
    expect(resend.status, await resend.clone().text()).toBeLessThan(300)
    const hook = await eventually(async () => {
      const next = rx.on('/crm')[seen]
      expect(next).toBeDefined()
      return next!
    }, SLOW)
    expect(new Webhook(secret).verify(hook.body, hook.headers)).toMatchObject({ type: 'whatsapp.connection.updated' })
  }, 90_000)
})
