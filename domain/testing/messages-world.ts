import type { EnqueueOptions, JobName, JobPayload, JobQueue } from '../ports/job-queue'
import type { KeyedHasher } from '../ports/keyed-hasher'
import { DEFAULT_MESSAGES_CONFIG, type MessagesConfig, type MessagesDeps } from '../messages/messages-deps'
import type { ConnectionState } from '../whatsapp/connection-state'
import { encryptConfig } from '../whatsapp/use-case-helpers'
import { InMemoryMessageStore } from './in-memory-message-store'
import { createTestWorld, type TestWorld } from './test-deps'

/** Jobs enqueued through the port, in order. */
export class RecordingJobQueue implements JobQueue {
  readonly enqueued: Array<{ task: JobName; payload: JobPayload; options?: EnqueueOptions }> = []
  async enqueue(task: JobName, payload: JobPayload, options?: EnqueueOptions): Promise<void> {
    this.enqueued.push({ task, payload, ...(options ? { options: structuredClone(options) } : {}) })
  }
}

/** Not a MAC: a readable stand-in that still binds purpose, tenant and value. */
export class FakeKeyedHasher implements KeyedHasher {
  hash(purpose: string, tenantId: string, value: string): string {
    return `test.${purpose}|${tenantId}|${value.length}|${[...value].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)}`
  }
  verify(hashed: string, purpose: string, tenantId: string, value: string): boolean {
    return hashed === this.hash(purpose, tenantId, value)
  }
}

export interface MessagesWorld extends TestWorld {
  messagesDeps: MessagesDeps
  store: InMemoryMessageStore
  jobs: RecordingJobQueue
  /** Every `sleep` the use cases asked for (the clock moves by it). */
  sleeps: number[]
  /** Tenant `acme` linked on instance `instanceId` in `state`. */
  link(state?: ConnectionState): Promise<{ instanceId: string }>
  setState(state: ConnectionState): Promise<void>
}

export function createMessagesWorld(config: Partial<MessagesConfig> = {}): MessagesWorld {
  const w = createTestWorld()
  const store = new InMemoryMessageStore()
  const jobs = new RecordingJobQueue()
  const sleeps: number[] = []
  w.provider.now = () => w.clock.now()
  const messagesDeps: MessagesDeps = {
    features: w.features,
    connections: w.connections,
    provider: w.provider,
    vault: w.vault,
    clock: w.clock,
    rateLimiter: w.rateLimiter,
    events: w.events,
    ids: w.deps.ids,
    logger: w.logger,
    store,
    jobs,
    hasher: new FakeKeyedHasher(),
    sleep: async (ms) => {
      sleeps.push(ms)
      w.clock.advance(ms)
    },
    config: { ...DEFAULT_MESSAGES_CONFIG, ...config },
  }
  const instanceId = '1101000001'
  return {
    ...w,
    messagesDeps,
    store,
    jobs,
    sleeps,
    async link(state = 'authorized') {
      const { token } = w.addInstance(instanceId)
      const now = w.clock.now()
      await w.connections.saveLinkAttempt({
        tenantId: 'acme',
        instanceId,
        encryptedConfig: encryptConfig(w.deps, 'acme', { instanceId, apiToken: token, apiUrl: 'https://1101.api.example.test' }),
        linkStartedAt: now,
        linkExpiresAt: new Date(now.getTime() + 300_000),
      })
      await w.connections.applyStatus('acme', {
        status: 'authorized',
        phoneNumber: '+33600000000',
        checkedAt: now,
        source: 'poll',
      })
      w.provider.setState(instanceId, 'authorized', '+33600000000')
      if (state !== 'authorized') await this.setState(state)
      return { instanceId }
    },
    async setState(state) {
      await w.connections.applyStatus('acme', { status: state, checkedAt: w.clock.now(), source: 'webhook' })
      w.provider.setState(instanceId, state)
    },
  }
}
