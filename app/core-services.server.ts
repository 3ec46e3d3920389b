import { simulatorAwareFetch } from '../adapters/green-api/simulator/shared-api-url'
import type { Kysely } from 'kysely'
import { maskPhone } from './utils/mask-phone'
import { AesGcmCredentialVault } from '../adapters/crypto/aes-gcm-credential-vault'
import { HmacKeyedHasher } from '../adapters/crypto/hmac-keyed-hasher'
import {
  CachingApiTokenStore,
  CachingConnectionRepository,
  CachingFeatureStore,
  CachingMembershipResolver,
  MemoizedPollLeaseAllocator,
  type HotPathCaches,
} from '../adapters/cache/hot-path-cache'
import { GreenApiPartnerProvider, GreenApiWhatsAppProvider } from '../adapters/green-api'
import { StandardWebhooksSigner } from '../adapters/crypto/standard-webhooks-signer'
import { WebhookHttpTransport } from '../adapters/http/webhook-http-transport'
import { HttpProfilePictureFetcher } from '../adapters/http/profile-picture-fetcher'
import { GraphileJobQueue } from '../adapters/queue/graphile-job-queue'
import { KyselyAuditLog } from '../adapters/kysely/kysely-audit-log'
import { KyselyConnectionRepository } from '../adapters/kysely/kysely-connection-repository'
import { KyselyFeatureStore } from '../adapters/kysely/kysely-feature-store'
import { KyselyInstanceAllocator } from '../adapters/kysely/kysely-instance-allocator'
import { KyselyMessageStore } from '../adapters/kysely/kysely-message-store'
import { KyselyRateLimiter } from '../adapters/kysely/kysely-rate-limiter'
import { KyselyReceiptStore } from '../adapters/kysely/kysely-receipt-store'
import { KyselyWebhookStore } from '../adapters/kysely/kysely-webhook-store'
import { PgStatusPublisher } from '../adapters/kysely/pg-status-publisher'
import { NodeSecretGenerator, UuidGenerator, systemClock } from '../adapters/node/node-runtime'
import type { Database } from '../db/schema'
import { DEFAULT_MESSAGES_CONFIG, sendQueueWaker, type MessageEventDeps, type MessagesDeps } from '../domain/messages'
import { DEFAULT_WEBHOOK_CONFIG, StoredEventSink, type WebhookDeps } from '../domain/webhooks'
import { DEFAULT_WHATSAPP_CONFIG, maskE164, profileRefreshQueue, type WhatsAppDeps } from '../domain/whatsapp'
import { presentCrmEventData } from './api/presenters'
import { buildAuthServices, type AuthServices } from './utils/auth.server'
import type { Env } from './utils/env.server'
import { createLogger, type AppLogger } from './utils/logger.server'
import { PrometheusLinkOutcomes, createMetrics, type Metrics } from './utils/metrics.server'

/**
 * Everything a use case needs, built bottom up from the parsed env and a database, once per
 * process: by the Remix server (app/services.server.ts, with its pool, caches and metrics), by
 * `npm run ops` and by `npm run token` (a small pool of their own, no caches). Nothing here
 * starts a timer, opens a listener or calls Green-API: boot side effects are app/boot.server.ts's.
 */
export interface CoreServices {
  env: Env
  db: Kysely<Database>
  logger: AppLogger
  metrics: Metrics
  secrets: NodeSecretGenerator
  vault: AesGcmCredentialVault
  /** The instance-level Green-API client (its breaker states feed /metrics). */
  provider: GreenApiWhatsAppProvider
  /** Everything the WhatsApp use cases need. */
  whatsapp: WhatsAppDeps
  /**
   * The status hot path's deps: with caches, the cached connection row and the memoized poll
   * lease (decision 070); without, the same as `whatsapp`.
   */
  whatsappHotPath: WhatsAppDeps
  /** Sessions, the JWT verifier, the membership resolver, login throttle, API tokens, audit. */
  auth: AuthServices
  /** Background jobs (graphile-worker's queue in this database). */
  jobs: GraphileJobQueue
  /** Everything the message use cases need (the store encrypts peers and texts through `vault`). */
  messages: MessagesDeps
  /** Receipts and inbound messages (Green-API notifications), with the CRM events they emit. */
  messageEvents: MessageEventDeps
  /** `messages.store`, under the name the first store commit gave it (for code built on that commit). */
  messageStore: MessagesDeps['store']
  /** The CRM endpoints, their signed deliveries and retries (the `wa.deliver-event` job). */
  webhooks: WebhookDeps
  /** The CRM endpoints' HTTP client (its target policy from env; tests swap its resolver). */
  webhookTransport: WebhookHttpTransport
}

export interface CoreOptions {
  db: Kysely<Database>
  /** Default: one built from LOG_LEVEL / LOG_FORMAT / LOG_FILE. */
  logger?: AppLogger
  /** Default: a registry of this process's own (the CLI exposes none). */
  metrics?: Metrics
  /** Per-process caches invalidated by `wa_cache` NOTIFYs (the server only; the CLI reads through). */
  caches?: HotPathCaches
}

export function buildCoreServices(env: Env, options: CoreOptions): CoreServices {
  const { db, caches } = options
  const logger = options.logger ?? createLogger(env.LOG_LEVEL, undefined, env.LOG_FORMAT, env.LOG_FILE)
  const metrics = options.metrics ?? createMetrics()
  const secrets = new NodeSecretGenerator()
  const vault = new AesGcmCredentialVault(env.encryptionKeys)
  const onCall = (e: { method: string; outcome: string; durationMs: number }) => {
    metrics.greenapiRequests.inc({ method: e.method, outcome: e.outcome })
    metrics.greenapiDuration.observe({ method: e.method }, e.durationMs / 1000)
  }
  // Deadlines and breaker from env (decision 071).
  const resilience = {
    timeoutMs: env.GREENAPI_TIMEOUT_MS,
    qrTimeoutMs: env.GREENAPI_QR_TIMEOUT_MS,
    breakerThreshold: env.GREENAPI_BREAKER_THRESHOLD,
    breakerHalfOpenAfterMs: env.GREENAPI_BREAKER_HALF_OPEN_MS,
  }
  // Simulator mode: the shared simulator apiUrl is served by this process (decision 215).
  const simulatorFetch =
    env.GREENAPI_MODE === 'simulator'
      ? { fetch: simulatorAwareFetch(() => `http://127.0.0.1:${process.env.PORT ?? '3000'}`) }
      : {}
  const provider = new GreenApiWhatsAppProvider({ logger, onCall, ...resilience, ...simulatorFetch })
  const partner =
    env.GREENAPI_MODE === 'partner' && env.GREENAPI_PARTNER_TOKEN
      ? new GreenApiPartnerProvider({
          partnerApiUrl: env.GREENAPI_PARTNER_URL,
          partnerToken: env.GREENAPI_PARTNER_TOKEN,
          // createInstance returns no apiUrl: GREENAPI_BASE_URL when set (the host the partner
          // console shows), else the partner base, which is Green-API's universal host.
          instanceApiUrl: env.GREENAPI_BASE_URL ?? env.GREENAPI_PARTNER_URL,
          logger,
          onCall,
          ...resilience,
        })
      : undefined
  const connections = new KyselyConnectionRepository(db, vault)
  const instances = new KyselyInstanceAllocator(db)
  const features = new KyselyFeatureStore(db)
  const ids = new UuidGenerator()
  const audit = new KyselyAuditLog(db)
  const webhookTransport = new WebhookHttpTransport(env.webhookTargets)
  const webhooks: WebhookDeps = {
    store: new KyselyWebhookStore(db),
    transport: webhookTransport,
    signer: new StandardWebhooksSigner(),
    vault,
    clock: systemClock,
    ids,
    audit,
    logger,
    config: DEFAULT_WEBHOOK_CONFIG,
  }
  const jobs = new GraphileJobQueue(db)
  const wa: WhatsAppDeps = {
    features: caches ? new CachingFeatureStore(features, caches) : features,
    // Reads go to PostgreSQL (read-then-write use cases); writes drop the cached row at once.
    connections: caches ? new CachingConnectionRepository(connections, caches, { cacheReads: false }) : connections,
    instances,
    provider,
    ...(partner ? { partner } : {}),
    vault,
    clock: systemClock,
    audit,
    // wa_link_attempts_total{result}: the use cases report each outcome.
    linkOutcomes: new PrometheusLinkOutcomes(metrics),
    rateLimiter: new KyselyRateLimiter(db),
    publisher: new PgStatusPublisher(db),
    // Stored with their deliveries and jobs in one transaction; the workers POST them (decision 180).
    events: new StoredEventSink(webhooks, presentCrmEventData),
    // Back to `authorized`: the instance's queued messages leave at once (decision 171).
    sendQueue: sendQueueWaker(jobs),
    // The linked account's name and picture: fetched in the background, served from our origin (decisions 240–242).
    profileRefresh: profileRefreshQueue(jobs),
    pictures: new HttpProfilePictureFetcher({ simulator: env.GREENAPI_MODE === 'simulator', ...simulatorFetch }),
    secrets,
    ids,
    logger,
    config: {
      ...DEFAULT_WHATSAPP_CONFIG,
      instanceMode: env.GREENAPI_MODE,
      ...(env.GREENAPI_INSTANCE_ID ? { sharedInstanceId: env.GREENAPI_INSTANCE_ID } : {}),
      linkAttemptMinutes: env.LINK_ATTEMPT_MINUTES,
      rateLimits: {
        generateQr: env.WA_RATE_LIMIT_QR,
        pairingCode: env.WA_RATE_LIMIT_PAIRING,
        testSend: env.WA_RATE_LIMIT_TEST,
        reboot: env.WA_RATE_LIMIT_REBOOT,
      },
      logoutRetry: { ...DEFAULT_WHATSAPP_CONFIG.logoutRetry, baseDelayMs: env.WA_LOGOUT_RETRY_BASE_MS },
      reconcileIntervalMs: env.WA_RECONCILE_INTERVAL_SECONDS * 1000,
      refreshBatchSize: env.WA_REFRESH_BATCH_SIZE,
      refreshConcurrency: env.WA_REFRESH_CONCURRENCY,
      addonGraceDays: env.WA_DISABLED_GRACE_DAYS,
      statusEventsRetentionDays: env.WA_STATUS_EVENTS_RETENTION_DAYS,
    },
    // A phone that was not the expected one is kept masked as the page shows peers (decision 200).
    maskPhone: (e164) => maskPhone(e164) ?? maskE164(e164),
  }
  const whatsappHotPath: WhatsAppDeps = caches
    ? {
        ...wa,
        connections: new CachingConnectionRepository(connections, caches, { cacheReads: true }),
        instances: new MemoizedPollLeaseAllocator(instances, caches),
      }
    : wa
  const auth = buildAuthServices(
    db,
    env,
    caches
      ? { resolver: (r) => new CachingMembershipResolver(r, caches), apiTokens: (t) => new CachingApiTokenStore(t, caches) }
      : {},
  )
  const messages: MessagesDeps = {
    features: wa.features,
    connections: wa.connections,
    provider,
    vault,
    clock: systemClock,
    rateLimiter: wa.rateLimiter,
    events: wa.events,
    ids: wa.ids,
    logger,
    store: new KyselyMessageStore(db, vault),
    jobs,
    hasher: new HmacKeyedHasher(env.encryptionKeys),
    sleep: abortableSleep,
    config: {
      ...DEFAULT_MESSAGES_CONFIG,
      rateLimit: env.WA_RATE_LIMIT_MESSAGES,
      sendIntervalMs: env.WA_SEND_INTERVAL_MS,
      recheckMs: env.WA_SEND_RECHECK_MS,
      recoveryGraceMs: env.WA_SEND_RECOVERY_GRACE_MS,
      retentionDays: env.WA_MESSAGE_RETENTION_DAYS,
    },
  }
  const messageEvents: MessageEventDeps = {
    messages: messages.store,
    receipts: new KyselyReceiptStore(db),
    jobs,
    events: wa.events,
    messagePublisher: new PgStatusPublisher(db),
    ids: wa.ids,
    clock: wa.clock,
    logger,
  }
  return {
    env,
    db,
    logger,
    metrics,
    secrets,
    vault,
    provider,
    whatsapp: wa,
    whatsappHotPath,
    auth,
    jobs,
    messages,
    messageEvents,
    messageStore: messages.store,
    webhooks,
    webhookTransport,
  }
}

/** Resolves after `ms`, or as soon as `signal` is aborted (a stopping worker's drain). */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
