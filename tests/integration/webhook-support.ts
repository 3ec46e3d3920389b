import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect } from 'vitest'
import { AesGcmCredentialVault } from '../../adapters/crypto/aes-gcm-credential-vault'
import { parseEncryptionKeys } from '../../adapters/crypto/encryption-keys'
import { KyselyWebhookStore } from '../../adapters/kysely/kysely-webhook-store'
import { UuidGenerator, systemClock } from '../../adapters/node/node-runtime'
import { taskIdentifier } from '../../adapters/queue/graphile-job-queue'
import { presentCrmEventData } from '../../app/api/presenters'
import type { CrmEvent } from '../../domain/ports/event-sink'
import { DEFAULT_WEBHOOK_CONFIG, StoredEventSink } from '../../domain/webhooks'
import { TEST_ENCRYPTION_KEYS } from '../utils/app'
import { testDb } from '../utils/db'
import type { WaHarness } from '../utils/wa-harness'
import { post } from './api-support'

// Shared helpers of the CRM webhook tests (api-webhook-endpoints*.test.ts). Not a test file itself.

export interface ReceivedHook {
  path: string
  headers: Record<string, string>
  body: string
}

/**
 * A CRM endpoint on 127.0.0.1 (a real node:http server): records every request and answers
 * each path with its next planned status (then that path's fallback, 204 by default).
 * `/redirect` answers 302 to `/target`.
 */
export async function startReceiver() {
  const received: ReceivedHook[] = []
  const plans = new Map<string, number[]>()
  const fallbacks = new Map<string, number>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v
      received.push({ path: req.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8') })
      if (req.url === '/redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/target` }).end()
        return
      }
      const path = req.url ?? ''
      const status = plans.get(path)?.shift() ?? fallbacks.get(path) ?? 204
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 400 ? `failure ${status} ${'x'.repeat(2000)}` : 'ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    port,
    received,
    /** The next answers on `path`, in order. */
    answer: (path: string, ...statuses: number[]) => plans.set(path, [...(plans.get(path) ?? []), ...statuses]),
    answerAlways: (path: string, status: number) => {
      plans.delete(path)
      fallbacks.set(path, status)
    },
    on: (path: string) => received.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>

/**
 * Emits an event the way the app's use cases do (the same sink class, store and key ring on this
 * file's database): the message events belong to other parts of #15, so the tests of delivery
 * emit them here; the app's workers deliver them.
 */
export function testEventSink(): StoredEventSink {
  const quiet = { info() {}, warn() {}, error() {} }
  return new StoredEventSink(
    {
      store: new KyselyWebhookStore(testDb()),
      vault: new AesGcmCredentialVault(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS })),
      clock: systemClock,
      ids: new UuidGenerator(),
      logger: quiet,
      config: DEFAULT_WEBHOOK_CONFIG,
    },
    presentCrmEventData,
  )
}

export function messageEvent(text: string, id = 'm-1'): CrmEvent {
  return { type: 'whatsapp.message.received', data: { id, direction: 'inbound', from: '+33612345678', text } }
}

export async function createEndpoint(
  h: WaHarness,
  actor: { token: string; tenantId?: string },
  body: { url: string; events?: string[] },
): Promise<{ id: string; secret: string; endpoint: Record<string, unknown> }> {
  const res = await post(h, '/api/wa/webhook-endpoints', actor, body)
  const json = (await res.json()) as { endpoint: Record<string, unknown> & { id: string }; secret: string }
  expect(res.status, JSON.stringify(json)).toBe(201)
  return { id: json.endpoint.id, secret: json.secret, endpoint: json.endpoint }
}

/** Retries wait for their time (seconds to hours): pull every waiting delivery job to now. */
export async function pullRetriesForward(): Promise<void> {
  const { sql } = await import('kysely')
  await sql`update graphile_worker._private_jobs set run_at = now()
    where task_id = (select id from graphile_worker._private_tasks where identifier = ${taskIdentifier('wa.deliver-event')})
      and locked_at is null`.execute(testDb())
}
