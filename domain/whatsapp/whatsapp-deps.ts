import type { AuditLog } from '../ports/audit-log'
import type { Clock } from '../ports/clock'
import type { ConnectionRepository } from '../ports/connection-repository'
import type { CredentialVault } from '../ports/credential-vault'
import type { EventSink } from '../ports/event-sink'
import type { FeatureStore } from '../ports/feature-store'
import type { IdGenerator } from '../ports/id-generator'
import type { InstanceAllocator, InstanceMode } from '../ports/instance-allocator'
import type { LinkOutcomes } from '../ports/link-outcomes'
import type { Logger } from '../ports/logger'
import type { RateLimiter } from '../ports/rate-limiter'
import type { SecretGenerator } from '../ports/secret-generator'
import type { StatusPublisher } from '../ports/status-publisher'
import type { ProfilePictureFetcher } from '../ports/profile-picture-fetcher'
import type { ProfileRefreshQueue } from '../ports/profile-refresh'
import type { SendQueueWaker } from '../ports/send-queue'
import type { WhatsAppPartnerProvider, WhatsAppProvider } from '../ports/whatsapp-provider'

export interface RateLimitRule {
  limit: number
  windowSeconds: number
}

export interface WhatsAppConfig {
  /** How a tenant gets a Green-API instance (docs/states.md#instances). */
  instanceMode: InstanceMode
  /** `shared` mode: the env instance id (`GREENAPI_INSTANCE_ID`), registered in `wa_instances`. */
  sharedInstanceId?: string
  /** Hard limit of a link attempt (QR / pairing code), after which the UI stops waiting. */
  linkAttemptMinutes: number
  /** Lifetime of one QR image shown to the user (Green-API rotates it ~every 20 s). */
  qrTtlSeconds: number
  /** Lifetime of a pairing code (Green-API: ≈ 2.5 min). */
  pairingCodeTtlSeconds: number
  /**
   * During a link attempt, the background refresher asks Green-API for the state of the
   * instance about this often, across processes (Green-API allows 1 request/s per instance:
   * 1.1 s keeps a margin for latency jitter).
   */
  attemptPollIntervalMs: number
  /**
   * A linked instance (connected or degraded; webhooks keep it fresh in between) is
   * reconciled with Green-API when its state was last confirmed longer ago than this.
   */
  reconcileIntervalMs: number
  /** At most this many rows per refresher pass (link attempts first, oldest check first). */
  refreshBatchSize: number
  /**
   * Upstream state checks in flight during a refresher pass (no pooled connection is held
   * meanwhile: leases and bookkeeping are one write each per pass). With Green-API answering
   * in `L` s, one process keeps about `refreshConcurrency × 1.1 / L` live attempts at their
   * 1.1 s pace (decision 231).
   */
  refreshConcurrency: number
  rateLimits: {
    generateQr: RateLimitRule
    pairingCode: RateLimitRule
    testSend: RateLimitRule
    /** `POST /api/wa/reboot` per tenant (decision 210). */
    reboot: RateLimitRule
  }
  /**
   * Quarantined instances (logout failed): backoff of the background logout retries, and after
   * how many consecutive failures the instance is marked broken (decision 085).
   */
  logoutRetry: {
    baseDelayMs: number
    maxDelayMs: number
    maxFailures: number
    /** How long one attempt may hold its lease (longer than the provider's deadline). */
    leaseMs: number
  }
  /**
   * Parallel upstream checks during `reconcileOnStart` and each refresher pass (each holds a
   * pooled connection briefly: kept well under DATABASE_POOL_MAX so requests still get one).
   */
  reconcileConcurrency: number
  /**
   * Days a linked number stays linked after WhatsApp Pro was switched off (disconnect stays
   * allowed meanwhile); then a scheduled job unlinks it (decision 169).
   */
  addonGraceDays: number
  /** `WA_STATUS_EVENTS_RETENTION_DAYS`: status history entries older than this are purged nightly (decision 259). */
  statusEventsRetentionDays: number
}

export const DEFAULT_WHATSAPP_CONFIG: WhatsAppConfig = {
  instanceMode: 'simulator',
  linkAttemptMinutes: 5,
  qrTtlSeconds: 20,
  pairingCodeTtlSeconds: 150,
  attemptPollIntervalMs: 1100,
  reconcileIntervalMs: 60_000,
  refreshBatchSize: 500,
  refreshConcurrency: 32,
  rateLimits: {
    generateQr: { limit: 10, windowSeconds: 60 },
    pairingCode: { limit: 5, windowSeconds: 600 },
    testSend: { limit: 5, windowSeconds: 3600 },
    reboot: { limit: 3, windowSeconds: 600 },
  },
  logoutRetry: { baseDelayMs: 30_000, maxDelayMs: 30 * 60_000, maxFailures: 5, leaseMs: 60_000 },
  reconcileConcurrency: 4,
  addonGraceDays: 7,
  statusEventsRetentionDays: 90,
}

/** Everything the WhatsApp use cases talk to. Built once by `app/services.server.ts`. */
export interface WhatsAppDeps {
  features: FeatureStore
  connections: ConnectionRepository
  instances: InstanceAllocator
  provider: WhatsAppProvider
  /** Required when `config.instanceMode === 'partner'`. */
  partner?: WhatsAppPartnerProvider
  vault: CredentialVault
  clock: Clock
  audit: AuditLog
  /** Link-attempt outcomes (metrics), reported by the link and status use cases. */
  linkOutcomes: LinkOutcomes
  rateLimiter: RateLimiter
  publisher: StatusPublisher
  /** Events for the tenant's CRM endpoints (signed webhooks), stored and delivered in the background. */
  events: EventSink
  /** Wakes an instance's outbound send queue when its state becomes `authorized` (decision 171). */
  sendQueue: SendQueueWaker
  /**
   * Asks for the linked account's profile to be fetched in the background (on link, and daily
   * by the reconcile; decision 242). Absent: profiles are never fetched.
   */
  profileRefresh?: ProfileRefreshQueue
  /** Downloads profile pictures server-side (decision 241). Absent: names only, no pictures. */
  pictures?: ProfilePictureFetcher
  secrets: SecretGenerator
  ids: IdGenerator
  logger: Logger
  config: WhatsAppConfig
  /**
   * How a phone that is not the expected one is kept (decision 200): masked, never in full.
   * The composition root passes the page's masking (libphonenumber-js); absent, the domain's
   * own (`maskE164`: the last four digits only).
   */
  maskPhone?: (e164: string) => string
}

/**
 * Who triggers a use case. Rendered as `user:<id>` / `system:<name>` / `operator:<os user>` in
 * the audit log. An operator is the person running `npm run ops` on the host, named by the CLI.
 */
export type Actor = { kind: 'user'; userId: string } | { kind: 'system'; name: string } | { kind: 'operator'; name: string }

export function actorLabel(actor: Actor): string {
  switch (actor.kind) {
    case 'user':
      return `user:${actor.userId}`
    case 'system':
      return `system:${actor.name}`
    case 'operator':
      return `operator:${actor.name}`
  }
}
