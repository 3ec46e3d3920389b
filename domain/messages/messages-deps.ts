import type { JobQueue } from '../ports/job-queue'
import type { KeyedHasher } from '../ports/keyed-hasher'
import type { MessageStore } from '../ports/message-store'
import type { RateLimitRule, WhatsAppDeps } from '../whatsapp/whatsapp-deps'

export interface MessagesConfig {
  /** Per-tenant limit of `POST /api/wa/messages` (`WA_RATE_LIMIT_MESSAGES`). */
  rateLimit: RateLimitRule
  /**
   * Least time between two sends of one instance (`WA_SEND_INTERVAL_MS`): never under 20 ms
   * (Green-API's 50 sendMessage/s) and meant to match the instance's `delaySendMessagesMilliseconds`.
   */
  sendIntervalMs: number
  /**
   * A drain run sleeps in-process until the next slot when it is at most this far (a pace up to
   * it is kept exactly); a longer pace is a run scheduled for the slot, found by polling.
   */
  maxInlineWaitMs: number
  /**
   * How long one drain run keeps its send-pool slot (sending and sleeping the pace) before it
   * hands it on: re-adds itself to run at once, behind the other instances' runs already due.
   */
  drainBudgetMs: number
  /**
   * A drain sleeping out the pace wakes this much before the slot to read the queue and the
   * state again, then waits out the rest exactly: the reads do not delay the slot, and the send
   * goes on reads at most this old.
   */
  rereadBeforeSlotMs: number
  /** While the instance cannot send (asleep, starting, unlinked, yellowCard, blocked): check again after this. */
  recheckMs: number
  /**
   * An interrupted send is looked up in Green-API's journal; entries may appear up to ~2 min late,
   * so "not found" means `unknown` only this long after the send started (`WA_SEND_RECOVERY_GRACE_MS`).
   */
  recoveryGraceMs: number
  /** Tolerance between our clock and Green-API's whole-second timestamps when matching the journal. */
  clockSkewMs: number
  /** `WA_MESSAGE_RETENTION_DAYS`: messages older than this are purged. */
  retentionDays: number
}

export const DEFAULT_MESSAGES_CONFIG: MessagesConfig = {
  rateLimit: { limit: 60, windowSeconds: 60 },
  sendIntervalMs: 1000,
  maxInlineWaitMs: 2_000,
  drainBudgetMs: 5_000,
  rereadBeforeSlotMs: 50,
  recheckMs: 30_000,
  recoveryGraceMs: 150_000,
  clockSkewMs: 5_000,
  retentionDays: 30,
}

/** Everything the message use cases talk to. Built once by `app/core-services.server.ts`. */
export interface MessagesDeps extends Pick<
  WhatsAppDeps,
  'features' | 'connections' | 'provider' | 'vault' | 'clock' | 'rateLimiter' | 'events' | 'ids' | 'logger'
> {
  store: MessageStore
  jobs: JobQueue
  hasher: KeyedHasher
  /**
   * Waits (a drain run pacing its sends in-process), returning early once `signal` is aborted.
   * Tests pass one that moves a fake clock.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  config: MessagesConfig
}
