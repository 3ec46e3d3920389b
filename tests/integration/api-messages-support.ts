import { expect } from 'vitest'
import { addJob } from '../../adapters/queue/graphile-job-queue'
import { testDb } from '../utils/db'
import { eventually, type WaHarness } from '../utils/wa-harness'
import { get, post, type TenantActor } from './api-support'

// Helpers of the api-messages-*.test.ts files. Not a test file itself.

/** Short paces and polls so sends happen within a test's patience; the rules are the production ones. */
export const FAST_SEND_ENV = {
  WA_SEND_INTERVAL_MS: '50',
  WA_JOB_POLL_INTERVAL_MS: '100',
  WA_SEND_RECHECK_MS: '200',
  WA_RATE_LIMIT_MESSAGES: '1000/60',
}

export interface MessageJson {
  id: string
  direction: string
  to?: string
  text: string
  status: string
  statusHistory: Array<{ status: string; at: string }>
  error?: { code: string; message: string }
  reference: string | null
  createdAt: string
}

export async function send(
  h: WaHarness,
  actor: TenantActor,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ res: Response; message: MessageJson }> {
  const res = await post(h, '/api/wa/messages', actor, body, headers)
  const json = (await res.clone().json()) as { message: MessageJson }
  return { res, message: json.message }
}

export async function fetchMessage(h: WaHarness, actor: TenantActor, id: string): Promise<MessageJson> {
  const res = await get(h, `/api/wa/messages/${id}`, actor)
  expect(res.status, await res.clone().text()).toBe(200)
  return ((await res.json()) as { message: MessageJson }).message
}

export async function waitForStatus(h: WaHarness, actor: TenantActor, id: string, status: string, timeoutMs = 10_000) {
  return eventually(async () => {
    const m = await fetchMessage(h, actor, id)
    expect(m.status).toBe(status)
    return m
  }, timeoutMs)
}

/** Wakes an instance's send job, as a new message or a retry would (same key and queue). */
export async function wakeSendJob(instanceId: string): Promise<void> {
  await addJob(testDb(), 'wa.send-message', { instanceId }, { key: `wa-send:${instanceId}`, queue: `wa-send:${instanceId}` })
}
