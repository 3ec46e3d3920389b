import type { Router } from 'express'
import {
  GreenApiSimulator,
  SHARED_SIMULATOR_API_URL,
  createGreenApiSimulatorRouter,
  setLocalSimulatorOrigin,
} from '../adapters/green-api/simulator'
import { DEFAULT_SIMULATOR_MOUNT_PATH } from '../adapters/green-api/simulator/http'
import { KyselySimulatorStore } from '../adapters/kysely/kysely-simulator-store'
import type { HostResolver } from '../adapters/http/webhook-http-transport'
import { missingSessionLimits } from '../adapters/postgres/pg-pool'
import { INSTANCE_TOKEN_LOCATION, reconcileOnStart } from '../domain/whatsapp'
import { closeServices, getServices } from './services.server'
import type { EventStreamGrant } from './utils/event-stream-open.server'
import { superviseWorkers } from './utils/job-worker.server'
import { startLogoutRetries } from './utils/logout-retries.server'
import { startStatusRefresher } from './utils/status-refresher.server'

/**
 * What the server does once, when it starts (server/start.ts, or a test's app): start the
 * LISTEN connections, register the shared or simulator instances, start the background logout
 * retries and reconcile stored state with Green-API in the background. The composition root
 * (app/services.server.ts) only builds objects; this module owns what runs.
 */
export interface BootOptions {
  port: number
  /** The data directory (npm start: .data/). The simulator's state is in PostgreSQL (decision 215). */
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
  /** Skip this process's job workers (also WA_JOB_WORKER=off). */
  jobWorker?: boolean
  /** Tests: how CRM endpoint host names resolve (standing in for DNS, e.g. to rebind a name). */
  webhookResolver?: HostResolver
}

export interface Booted {
  /** The Green-API mode the app runs in. */
  mode: string
  /** Routers to mount before Remix (the simulator's Green-API surface and simulated phone). */
  routers: Array<{ path: string; router: Router }>
  /** The origin the app is reached at when configured (PUBLIC_URL). */
  publicUrl: string | undefined
}

/** What the Remix server build exports for the process that serves it (app/entry.server.tsx). */
export interface AppServerEntry {
  bootServices(opts: BootOptions): Promise<Booted>
  shutdownServices(): Promise<void>
  bootedSimulator(): GreenApiSimulator | undefined
  /** GET /api/wa/events up to its first byte: a refusal, or a stream to write (server/http-app.ts). */
  openEventStream(request: Request, context: unknown): Promise<Response | EventStreamGrant>
}

interface BootState {
  booted: Promise<Booted>
  simulator?: GreenApiSimulator
  stopLogoutRetries?: () => void
  stopStatusRefresher?: () => void
  stopJobWorker?: () => Promise<void>
}

const KEY = Symbol.for('whatsapp-pro.boot')
type Holder = { [KEY]?: BootState }

/** Boots once per process: a second call answers the first call's result. */
export function bootServices(opts: BootOptions): Promise<Booted> {
  const holder = globalThis as Holder
  if (holder[KEY]) return holder[KEY].booted
  const state: BootState = { booted: Promise.resolve(null as never) }
  state.booted = boot(opts, state)
  holder[KEY] = state
  // A failed boot may be retried (the state is forgotten).
  state.booted.catch(() => {
    if (holder[KEY] === state) delete holder[KEY]
  })
  return state.booted
}

async function boot(opts: BootOptions, state: BootState): Promise<Booted> {
  const services = getServices()
  const { env, whatsapp: wa, logger } = services
  if (opts.webhookResolver) services.webhookTransport.useResolver(opts.webhookResolver)
  await services.statusHub.start()
  if (env.WA_CACHE_TTL_MS > 0) await services.cacheListener.start() // caches serve only while it listens
  if (env.DATABASE_POOLED) {
    const limits = {
      statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
      lockTimeoutMs: env.DATABASE_LOCK_TIMEOUT_MS,
      idleInTransactionTimeoutMs: env.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    }
    void missingSessionLimits(services.pool, limits).then(
      (missing) => {
        if (missing.length > 0)
          logger.warn(
            { missing },
            'DATABASE_URL is a pooler whose sessions lack these limits: set them in its connect_query (docs/scale-out.md)',
          )
      },
      () => {}, // database not reachable yet: the requests will say so
    )
  }
  const routers: Array<{ path: string; router: Router }> = []

  if (env.GREENAPI_MODE === 'simulator') {
    // npm start: the simulator's instances in PostgreSQL, shared by every app process in
    // simulator mode and emptied by db:reset (decision 215). Tests: an in-process one behind MSW.
    const simulator =
      opts.simulator ??
      new GreenApiSimulator({
        store: new KyselySimulatorStore(services.db),
        // PUBLIC_URL, else the origin the admin browses (carried by the instance's webhook URL).
        publicUrl: ({ webhookUrl }) =>
          env.PUBLIC_URL ?? (webhookUrl ? new URL(webhookUrl).origin : `http://localhost:${opts.port}`),
      })
    if (!opts.simulator) setLocalSimulatorOrigin(`http://127.0.0.1:${opts.port}`)
    const apiUrl =
      opts.simulatorApiUrl ??
      (opts.simulator ? `http://127.0.0.1:${opts.port}${DEFAULT_SIMULATOR_MOUNT_PATH}` : SHARED_SIMULATOR_API_URL)
    for (const creds of await simulator.ensureSharedInstances(opts.simulatorInstances ?? 20)) {
      await wa.instances.register({
        id: creds.instanceId,
        mode: 'simulator',
        apiUrl,
        encryptedToken: wa.vault.encrypt(creds.apiToken, INSTANCE_TOKEN_LOCATION),
      })
    }
    if (!opts.simulator) routers.push({ path: '/', router: createGreenApiSimulatorRouter(simulator) })
    state.simulator = simulator
  } else if (env.GREENAPI_MODE === 'shared' && env.GREENAPI_INSTANCE_ID && env.GREENAPI_API_TOKEN) {
    await wa.instances.register({
      id: env.GREENAPI_INSTANCE_ID,
      mode: 'shared',
      apiUrl: env.GREENAPI_BASE_URL ?? 'https://api.green-api.com',
      encryptedToken: wa.vault.encrypt(env.GREENAPI_API_TOKEN, INSTANCE_TOKEN_LOCATION),
    })
  }

  state.stopLogoutRetries = startLogoutRetries(wa, env.WA_LOGOUT_RETRY_BASE_MS)
  // The memoized poll lease spares the database the lease attempts another pass just made.
  if (opts.statusRefresh !== false)
    state.stopStatusRefresher = startStatusRefresher({ ...wa, instances: services.whatsappHotPath.instances })
  if (opts.jobWorker !== false && env.WA_JOB_WORKER === 'on') {
    const worker = await superviseWorkers(services, env.DATABASE_DIRECT_URL, (l) => services.onDatabaseShuttingDown(l))
    state.stopJobWorker = () => worker.stop()
  }
  if (opts.reconcile !== false) {
    // In the background: the app serves (from stored state) while Green-API is asked.
    void reconcileOnStart(wa)
      .then((report) => logger.info({ ...report }, 'reconciled stored WhatsApp state with Green-API'))
      .catch((e: unknown) => logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'reconcile failed'))
  }
  logger.info({ mode: env.GREENAPI_MODE }, 'services booted')
  return { mode: env.GREENAPI_MODE, routers, publicUrl: env.PUBLIC_URL }
}

/** The running Green-API simulator (simulator mode, once booted). */
export function bootedSimulator(): GreenApiSimulator | undefined {
  return (globalThis as Holder)[KEY]?.simulator
}

/** Stops what boot started, then closes the services. */
export async function shutdownServices(): Promise<void> {
  const holder = globalThis as Holder
  const state = holder[KEY]
  delete holder[KEY]
  setLocalSimulatorOrigin(undefined)
  state?.stopLogoutRetries?.()
  state?.stopStatusRefresher?.()
  // Running jobs finish (graphile-worker's graceful stop) before the pool closes.
  await state?.stopJobWorker?.()
  await closeServices()
}
