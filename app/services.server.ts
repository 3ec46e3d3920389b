import { Kysely, PostgresDialect, sql } from 'kysely'
import type pg from 'pg'
import { HotPathCaches } from '../adapters/cache/hot-path-cache'
import { PgCacheListener } from '../adapters/cache/pg-cache-listener'
import { createPgPool } from '../adapters/postgres/pg-pool'
import { PgStatusHub } from '../adapters/postgres/pg-status-hub'
import { ProcessLinkDisplayStore } from '../adapters/memory/process-link-display-store'
import type { Database } from '../db/schema'
import type { LinkDisplayStore } from '../domain/ports/link-display-store'
import type { MessageStatusSignal } from '../domain/ports/status-publisher'
import type { ConnectionStatusResult } from '../domain/whatsapp'
import { presentStatus } from './api/presenters'
import { buildCoreServices, type CoreServices } from './core-services.server'
import { parseEnv } from './utils/env.server'
import { EventStreamFanout, EventStreamSlots } from './utils/event-streams.server'
import { createLogger } from './utils/logger.server'
import { createMetrics } from './utils/metrics.server'

/**
 * The server process's composition root: the core services (app/core-services.server.ts) over
 * this process's pool, plus what only a long-running server has — the LISTEN connections, the
 * hot-path caches they invalidate, and the SSE slots. Built once per process, on first use, and
 * kept on globalThis so a dev rebuild reuses the same pool. Boot side effects (instance
 * registration, the start-up reconcile, background retries) are app/boot.server.ts's.
 */
export interface Services extends CoreServices {
  pool: pg.Pool
  /** Status changes from every process (LISTEN/NOTIFY) for SSE streams and caches. */
  statusHub: PgStatusHub
  /** Open SSE streams per user, tenant and IP (caps from env). */
  eventStreams: EventStreamSlots
  /** The open SSE streams themselves: one hub subscription per tenant, each event encoded once. */
  eventFanout: EventStreamFanout<ConnectionStatusResult, MessageStatusSignal>
  /** Per-process caches (membership, flags, connection row), invalidated by `wa_cache` NOTIFYs. */
  caches: HotPathCaches
  cacheListener: PgCacheListener
  /** The QR or pairing code the settings page shows, per tenant (this process's memory). */
  linkDisplays: LinkDisplayStore
  /** Calls `listener` each time PostgreSQL refuses a connection because it is shutting down. */
  onDatabaseShuttingDown(listener: () => void): void
  /** Readiness: true when PostgreSQL answers within the timeout. */
  databaseReady(): Promise<boolean>
  close(): Promise<void>
}

/** A comment line on every open SSE stream this often, so proxies keep idle streams open. */
const SSE_HEARTBEAT_MS = 15_000
/** A stream whose client reads nothing: ended past this many unsent bytes (a few hundred events). */
const SSE_MAX_BUFFERED_BYTES = 256 * 1024

function buildServices(): Services {
  const env = parseEnv()
  const logger = createLogger(env.LOG_LEVEL, undefined, env.LOG_FORMAT, env.LOG_FILE)
  const metrics = createMetrics()
  // The dedicated LISTEN connections come first: the pool tells them when PostgreSQL shuts down.
  // LISTEN holds a session: never through a transaction-mode pooler (DATABASE_DIRECT_URL).
  const statusHub = new PgStatusHub(env.DATABASE_DIRECT_URL, logger)
  const cacheListener = new PgCacheListener(env.DATABASE_DIRECT_URL, logger)
  const shuttingDownListeners: Array<() => void> = []
  // Bounded sessions and a bounded wait for a connection (decision 095): a slow, frozen or
  // stopped PostgreSQL answers 503 within seconds; a dropped connection is logged, never fatal.
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
      for (const listener of shuttingDownListeners) listener()
    },
  })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  // Caches in front of the hot-path reads (WA_CACHE_TTL_MS=0: off). A connected row's age may
  // lag by half a reconcile interval in another process (docs/decisions/230).
  const caches = new HotPathCaches({
    ttlMs: env.WA_CACHE_TTL_MS,
    notifiedTtlMs: env.WA_CACHE_NOTIFIED_TTL_MS,
    linkedRowTtlMs: (env.WA_RECONCILE_INTERVAL_SECONDS * 1000) / 2,
    listener: cacheListener,
  })
  const core = buildCoreServices(env, { db, logger, metrics, caches })
  const eventFanout = new EventStreamFanout<ConnectionStatusResult, MessageStatusSignal>(statusHub, {
    statusEvent: (status) => `event: status\ndata: ${JSON.stringify(presentStatus(status))}\n\n`,
    // A message's new status: its id and status only (the page updates that row).
    messageEvent: (m) => `event: message-status\ndata: ${JSON.stringify({ id: m.messageId, status: m.status })}\n\n`,
    heartbeatMs: SSE_HEARTBEAT_MS,
    lifetimeMs: env.SSE_MAX_LIFETIME_SECONDS * 1000,
    maxBufferedBytes: SSE_MAX_BUFFERED_BYTES,
    onOpen: () => metrics.sseClients.inc(),
    onClose: () => metrics.sseClients.dec(),
  })
  // Breaker states are read at scrape time (bounded labels: three states, no instance ids).
  metrics.setBreakerSource(() => core.provider.breakerStates())
  return {
    ...core,
    pool,
    statusHub,
    eventStreams: new EventStreamSlots({
      perUser: env.SSE_MAX_PER_USER,
      perTenant: env.SSE_MAX_PER_TENANT,
      perIp: env.SSE_MAX_PER_IP,
    }),
    eventFanout,
    caches,
    cacheListener,
    linkDisplays: new ProcessLinkDisplayStore(),
    onDatabaseShuttingDown(listener) {
      shuttingDownListeners.push(listener)
    },
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
      eventFanout.closeAll()
      await statusHub.close()
      await cacheListener.close()
      await db.destroy()
    },
  }
}

// server/observability.ts finds the logger and metrics under this key once they are built.
const KEY = Symbol.for('whatsapp-pro.services')
type Holder = { [KEY]?: Services }

export function getServices(): Services {
  const holder = globalThis as Holder
  holder[KEY] ??= buildServices()
  return holder[KEY]
}

/** Closes the pool and the listeners, and forgets them (the next getServices() builds anew). */
export async function closeServices(): Promise<void> {
  const holder = globalThis as Holder
  const services = holder[KEY]
  delete holder[KEY]
  await services?.close()
}
