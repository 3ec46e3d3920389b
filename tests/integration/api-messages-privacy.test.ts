import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { linkByScan, newTenant } from './api-support'
import { FAST_SEND_ENV, fetchMessage, send, waitForStatus } from './api-messages-support'

/**
 * Personal data at rest and in logs: a canary text and a canary phone number go through the
 * whole send path (API, store, job, Green-API call, a recovery lookup); then the messages table,
 * graphile-worker's job tables and the app's log (trace level) are searched for them.
 */
const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-msg-logs-')), 'app.log')
const h = useWaApp({
  env: { ...FAST_SEND_ENV, LOG_LEVEL: 'trace', LOG_FILE: logFile, WA_SEND_RECOVERY_GRACE_MS: '3000', GREENAPI_TIMEOUT_MS: '400' },
})

const CANARY_TEXT = `canary-text-${randomUUID()}`
// A valid French mobile number used nowhere else: its digits must appear nowhere in clear.
const CANARY_DIGITS = '33757000123'
const CANARY_PHONE = `+${CANARY_DIGITS}`

describe('messages: encryption at rest and logs', () => {
  it('no text and no phone number in the database (messages, jobs) or the logs; the API still reads them back', async () => {
    const actor = await newTenant()
    const instanceId = await linkByScan(h, actor, '+33611130001')
    const reference = `ref-${randomUUID()}`
    const first = await send(
      h,
      actor,
      { to: CANARY_PHONE, text: CANARY_TEXT, reference },
      { 'Idempotency-Key': `k-${randomUUID()}` },
    )
    expect(first.res.status).toBe(202)
    await waitForStatus(h, actor, first.message.id, 'sent')
    // A second one whose answer is lost: the recovery path (journal lookup) runs too.
    h.sim.fault({ instanceId, methods: ['sendMessage'], times: 1 }).slow(900)
    const second = await send(h, actor, { to: CANARY_PHONE, text: `${CANARY_TEXT}-2` })
    await waitForStatus(h, actor, second.message.id, 'sent', 15_000)
    expect(await fetchMessage(h, actor, first.message.id)).toMatchObject({ to: CANARY_PHONE, text: CANARY_TEXT, reference })

    const db = testDb()
    const messages = await sql<{ row: string }>`select row_to_json(m)::text as row from wa_messages m`.execute(db)
    const jobs = await sql<{ row: string }>`select row_to_json(j)::text as row from graphile_worker._private_jobs j`.execute(db)
    const dump = [...messages.rows, ...jobs.rows].map((r) => r.row).join('\n')
    expect(messages.rows.length).toBeGreaterThanOrEqual(2)
    expect(dump).toContain(reference) // the dump is real: our own reference is stored in clear
    expect(dump).not.toContain(CANARY_TEXT)
    expect(dump).not.toContain(CANARY_DIGITS)
    expect(dump).not.toContain('757000123')
    // The envelopes are bound to tenant and id: the stored columns are vault envelopes.
    const row = await db.selectFrom('wa_messages').selectAll().where('id', '=', first.message.id).executeTakeFirstOrThrow()
    expect(row.text_encrypted).toMatch(/^v1\.k\d\./)
    expect(row.peer_encrypted).toMatch(/^v1\.k\d\./)
    expect(row.request_fingerprint).toMatch(/^k\d\.[A-Za-z0-9_-]{43}$/)

    const logs = await eventually(async () => {
      const text = fs.readFileSync(logFile, 'utf8')
      expect(text).toContain(first.message.id) // the send was logged (by id)
      return text
    })
    expect(logs).not.toContain(CANARY_TEXT)
    expect(logs).not.toContain(CANARY_DIGITS)
    expect(logs).not.toContain('757000123')
  })
})
