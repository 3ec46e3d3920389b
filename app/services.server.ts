import path from 'node:path'
import type { Router } from 'express'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { AesGcmCredentialVault } from '../adapters/crypto/aes-gcm-credential-vault'
import { parseEncryptionKeys } from '../adapters/crypto/encryption-keys'
import { GreenApiPartnerProvider, GreenApiWhatsAppProvider } from '../adapters/green-api'
import {
  DEFAULT_SIMULATOR_MOUNT_PATH,
  GreenApiSimulator,
  createGreenApiSimulatorRouter,
} from '../adapters/green-api/simulator'
import { KyselyAuditLog } from '../adapters/kysely/kysely-audit-log'
import { KyselyConnectionRepository } from '../adapters/kysely/kysely-connection-repository'
import { KyselyFeatureStore } from '../adapters/kysely/kysely-feature-store'
import { KyselyInstanceAllocator } from '../adapters/kysely/kysely-instance-allocator'
import { KyselyRateLimiter } from '../adapters/kysely/kysely-rate-limiter'
import { PgStatusPublisher } from '../adapters/kysely/pg-status-publisher'
import { ProcessLinkDisplayStore } from '../adapters/memory/process-link-display-store'
import { NodeSecretGenerator, UuidGenerator, systemClock } from '../adapters/node/node-runtime'
import { createPgPool, missingSessionLimits } from '../adapters/postgres/pg-pool'
import { PgStatusHub } from '../adapters/postgres/pg-status-hub'
// --- hot-path caches: the status poll answers without a database round trip ---
import {
  CachingApiTokenStore,
  CachingConnectionRepository,
  CachingFeatureStore,
  CachingMembershipResolver,
  HotPathCaches,
  MemoizedPollLeaseAllocator,
} from '../adapters/cache/hot-path-cache'
import { PgCacheListener } from '../adapters/cache/pg-cache-listener'
// --- end reliability ---
import type { Database } from '../db/schema'
import type { LinkDisplayStore } from '../domain/ports/link-display-store'
import {
  DEFAULT_WHATSAPP_CONFIG,
  INSTANCE_TOKEN_LOCATION,
  reconcileOnStart,
  type WhatsAppDeps,
} from '../domain/whatsapp'
import { parseEnv, type Env } from './utils/env.server'
import { startLogoutRetries } from './utils/logout-retries.server'
import { startStatusRefresher } from './utils/status-refresher.server'
import { createLogger, type AppLogger } from './utils/logger.server'
import { PrometheusLinkOutcomes, createMetrics, type Metrics } from './utils/metrics.server'
import { EventStreamSlots } from './utils/event-streams.server'
// --- auth ---
import { buildAuthServices, type AuthServices } from './utils/auth.server'
// --- end auth ---

/**
 * The composition root: builds the pool, Kysely and every adapter once per process and hands
 * ready-made services to routes. Kept on globalThis so a dev rebuild reuses the same pool.
 */
export interface Services {
  env: Env
  db: Kysely<Database>
  pool: pg.Pool
  logger: AppLogger
  metrics: Metrics
  secrets: NodeSecretGenerator
  /** Everything the WhatsApp use cases need. */
  wa: WhatsAppDeps
  /** The QR or pairing code the settings page shows, per tenant (this process's memory). */
  linkDisplays: LinkDisplayStore
  /** Status changes from every process (LISTEN/NOTIFY) for SSE streams and caches. */
  statusHub: PgStatusHub
  /** Open SSE streams per user, tenant and IP (caps from env, so one caller cannot exhaust them). */
  eventStreams: EventStreamSlots
  // --- reliability ---
  /** The status hot path's deps: cached connection row + memoized poll lease (decision 070). */
  waStatus: WhatsAppDeps
  /** Per-process caches (membership, flags, connection row), invalidated by `wa_cache` NOTIFYs. */
  caches: HotPathCaches
  cacheListener: PgCacheListener
  // --- end reliability ---
  /** The running Green-API simulator (simulator mode only). */
  simulator?: GreenApiSimulator
  // --- auth: sessions, JWT verifier, membership resolver, login throttle, audit ---
  auth: AuthServices
  // --- end auth ---
  /** Stops the background logout retries of quarantined instances (started by boot). */
  stopLogoutRetries?: () => void
  /** Stops the background state refresher (started by boot, decision 120). */
  stopStatusRefresher?: () => void
  /** Readiness: true when PostgreSQL answers within the timeout. */
  databaseReady(): Promise<boolean>
  close(): Promise<void>
}

function buildServices(): Services {
  const env = parseEnv()
  const logger = createLogger(env.LOG_LEVEL, undefined, env.LOG_FORMAT)
  const metrics = createMetrics()
  // The dedicated LISTEN connections come first: the pool tells them when PostgreSQL shuts down.
  // LISTEN holds a session: never through a transaction-mode pooler (DATABASE_DIRECT_URL).
  const statusHub = new PgStatusHub(env.DATABASE_DIRECT_URL, logger)
  const cacheListener = new PgCacheListener(env.DATABASE_DIRECT_URL, logger) // LISTEN wa_cache: drops cached rows when any process changes them
  // Bounded sessions and a bounded wait for a connection (decision 095): a slow,
  // frozen or stopped PostgreSQL answers 503 within seconds; a dropped connection is logged,
  // never fatal.
  const pool = createPgPool({
    connectionString: env.DATABASE_URL,
    max: env.DATABASE_POOL_MAX,
    acquireTimeoutMs: env.DATABASE_ACQUIRE_TIMEOUT_MS,
    statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
    lockTimeoutMs: env.DATABASE_LOCK_TIMEOUT_MS,
    idleInTransactionTimeoutMs: env.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    throughPooler: env.DATABASE_POOLED,
    log: logger,
    // A smart shutdown waits for every session: let the LISTEN connections go (they retry).
    onServerShuttingDown: () => {
      statusHub.recycle('PostgreSQL is shutting down')
      cacheListener.recycle('PostgreSQL is shutting down')
    },
  })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  const secrets = new NodeSecretGenerator()
  const vault = new AesGcmCredentialVault(parseEncryptionKeys(process.env))
  const onCall = (e: { method: string; outcome: string; durationMs: number }) => {
    metrics.greenapiRequests.inc({ method: e.method, outcome: e.outcome })
    metrics.greenapiDuration.observe({ method: e.method }, e.durationMs / 1000)
  }
  // --- reliability: deadlines and breaker from env (defaults: docs/green-api.md#errors-and-rate-limits) ---
  const resilience = {
    timeoutMs: env.GREENAPI_TIMEOUT_MS,
    qrTimeoutMs: env.GREENAPI_QR_TIMEOUT_MS,
    breakerThreshold: env.GREENAPI_BREAKER_THRESHOLD,
    breakerHalfOpenAfterMs: env.GREENAPI_BREAKER_HALF_OPEN_MS,
  }
  const provider = new GreenApiWhatsAppProvider({ logger, onCall, ...resilience })
  // Breaker states are read at scrape time (bounded labels: three states, no instance ids).
  metrics.setBreakerSource(() => provider.breakerStates())
  // --- end reliability ---
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
  // --- reliability: caches in front of the hot-path reads (WA_CACHE_TTL_MS=0: off) ---
  const caches = new HotPathCaches({ ttlMs: env.WA_CACHE_TTL_MS, listener: cacheListener })
  const connections = new KyselyConnectionRepository(db)
  const instances = new KyselyInstanceAllocator(db)
  // --- end reliability ---
  const wa: WhatsAppDeps = {
    features: new CachingFeatureStore(new KyselyFeatureStore(db), caches),
    // Reads go to PostgreSQL (read-then-write use cases); writes drop the cached row at once.
    connections: new CachingConnectionRepository(connections, caches, { cacheReads: false }),
    instances,
    provider,
    ...(partner ? { partner } : {}),
    vault,
    clock: systemClock,
    audit: new KyselyAuditLog(db),
    linkOutcomes: new PrometheusLinkOutcomes(metrics),
    rateLimiter: new KyselyRateLimiter(db),
    publisher: new PgStatusPublisher(db),
    secrets,
    ids: new UuidGenerator(),
    logger,
    config: {
      ...DEFAULT_WHATSAPP_CONFIG,
      instanceMode: env.GREENAPI_MODE,
      ...(env.GREENAPI_INSTANCE_ID ? { sharedInstanceId: env.GREENAPI_INSTANCE_ID } : {}),
      linkAttemptMinutes: env.LINK_ATTEMPT_MINUTES,
      rateLimits: { generateQr: env.WA_RATE_LIMIT_QR, pairingCode: env.WA_RATE_LIMIT_PAIRING, testSend: env.WA_RATE_LIMIT_TEST },
      logoutRetry: { ...DEFAULT_WHATSAPP_CONFIG.logoutRetry, baseDelayMs: env.WA_LOGOUT_RETRY_BASE_MS },
      reconcileIntervalMs: env.WA_RECONCILE_INTERVAL_SECONDS * 1000,
    },
  }
  // --- reliability: status route deps, auth resolver cache ---
  const waStatus: WhatsAppDeps = {
    ...wa,
    connections: new CachingConnectionRepository(connections, caches, { cacheReads: true }),
    instances: new MemoizedPollLeaseAllocator(instances, caches),
  }
  const auth = buildAuthServices(db, env)
  auth.resolver = new CachingMembershipResolver(auth.resolver, caches)
  auth.apiTokens = new CachingApiTokenStore(auth.apiTokens, caches)
  // --- end reliability ---
  return {
    env,
    db,
    pool,
    logger,
    metrics,
    secrets,
    wa,
    linkDisplays: new ProcessLinkDisplayStore(),
    statusHub,
    eventStreams: new EventStreamSlots({ perUser: env.SSE_MAX_PER_USER, perTenant: env.SSE_MAX_PER_TENANT, perIp: env.SSE_MAX_PER_IP }),
    waStatus,
    caches,
    cacheListener,
    // --- auth ---
    auth,
    // --- end auth ---
    async databaseReady() {
      try {
        await Promise.race([
          sql`select 1`.execute(db),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000)),
        ])
        return true
      } catch {
        return false
      }
    },
    async close() {
      this.stopLogoutRetries?.()
      this.stopStatusRefresher?.()
      await statusHub.close()
      await cacheListener.close()
      await db.destroy()
    },
  }
}

const KEY = Symbol.for('whatsapp-pro.services')
type Holder = { [KEY]?: Services }

export function getServices(): Services {
  const holder = globalThis as Holder
  holder[KEY] ??= buildServices()
  return holder[KEY]
}

export interface BootOptions {
  port: number
  /** Where the simulator keeps its state across restarts (npm start: .data/). */
  dataDir?: string
  /** Tests: a simulator already served by MSW at `simulatorApiUrl` (no router is mounted). */
  simulator?: GreenApiSimulator
  simulatorApiUrl?: string
  /** Number of simulator instances (default 20). */
  simulatorInstances?: number
  /** Skip the start-up reconciliation (tests that count upstream calls). */
  reconcile?: boolean
  /** Skip the background state refresher (tests of the status path alone). */
  statusRefresh?: boolean
}

/**
 * Called by the HTTP entry once, before listening: starts the status listener, registers the
 * shared or simulator instances, reconciles stored state with Green-API in the background, and
 * returns routers to mount (the simulator's Green-API surface and simulated phone).
 */
export async function bootServices(opts: BootOptions): Promise<{ mode: string; routers: Array<{ path: string; router: Router }> }> {
  const services = getServices()
  const { env, wa, logger } = services
  await services.statusHub.start()
  if (env.WA_CACHE_TTL_MS > 0) await services.cacheListener.start() // caches serve only while it listens
  const routers: Array<{ path: string; router: Router }> = []

  if (env.GREENAPI_MODE === 'simulator') {
    const simulator =
      opts.simulator ??
      new GreenApiSimulator({
        ...(opts.dataDir ? { persistPath: path.join(opts.dataDir, 'simulator.json') } : {}),
        // PUBLIC_URL, else the origin the admin browses (carried by the instance's webhook URL).
        publicUrl: ({ webhookUrl }) => env.PUBLIC_URL ?? (webhookUrl ? new URL(webhookUrl).origin : `http://localhost:${opts.port}`),
      })
    const apiUrl = opts.simulatorApiUrl ?? `http://127.0.0.1:${opts.port}${DEFAULT_SIMULATOR_MOUNT_PATH}`
    for (const creds of simulator.ensureInstances(opts.simulatorInstances ?? 20)) {
      await wa.instances.register({
        id: creds.instanceId,
        mode: 'simulator',
        apiUrl,
        encryptedToken: wa.vault.encrypt(creds.apiToken, INSTANCE_TOKEN_LOCATION),
      })
    }
    if (!opts.simulator) routers.push({ path: '/', router: createGreenApiSimulatorRouter(simulator) })
    services.simulator = simulator
  } else if (env.GREENAPI_MODE === 'shared' && env.GREENAPI_INSTANCE_ID && env.GREENAPI_API_TOKEN) {
    await wa.instances.register({
      id: env.GREENAPI_INSTANCE_ID,
      mode: 'shared',
      apiUrl: env.GREENAPI_BASE_URL ?? 'https://api.green-api.com',
      encryptedToken: wa.vault.encrypt(env.GREENAPI_API_TOKEN, INSTANCE_TOKEN_LOCATION),
    })
  }

  if (env.DATABASE_POOLED) {
    const limits = { statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS, lockTimeoutMs: env.DATABASE_LOCK_TIMEOUT_MS, idleInTransactionTimeoutMs: env.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS }
    void missingSessionLimits(services.pool, limits).then(
      (missing) => {
        if (missing.length > 0) logger.warn({ missing }, 'DATABASE_URL is a pooler whose sessions lack these limits: set them in its connect_query (docs/scale-out.md)')
      },
      () => {}, // database not reachable yet: the requests will say so
    )
  }
  services.stopLogoutRetries = startLogoutRetries(wa, env.WA_LOGOUT_RETRY_BASE_MS)
  // The memoized poll lease spares the database the lease attempts another pass just made.
  if (opts.statusRefresh !== false) services.stopStatusRefresher = startStatusRefresher({ ...wa, instances: services.waStatus.instances })
  if (opts.reconcile !== false) {
    // In the background: the app serves (from stored state) while Green-API is asked.
    void reconcileOnStart(wa)
      .then((report) => logger.info({ ...report }, 'reconciled stored WhatsApp state with Green-API'))
      .catch((e: unknown) => logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'reconcile failed'))
  }
  logger.info({ mode: env.GREENAPI_MODE }, 'services booted')
  return { mode: env.GREENAPI_MODE, routers }
}

export async function shutdownServices(): Promise<void> {
  const holder = globalThis as Holder
  const services = holder[KEY]
  delete holder[KEY]
  await services?.close()
}
