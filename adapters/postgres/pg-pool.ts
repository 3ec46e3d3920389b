import pg from 'pg'
import { describePgError, isServerShuttingDown } from './pg-errors'

type Log = { warn(obj: Record<string, unknown>, msg: string): void }

export interface PgPoolOptions {
  connectionString: string
  max?: number
  /** How long a caller waits for a connection (a new one, or a free one from a full pool). */
  acquireTimeoutMs?: number
  idleTimeoutMs?: number
  /** Server-side limits of every session (0 = PostgreSQL's default, none). */
  statementTimeoutMs?: number
  lockTimeoutMs?: number
  idleInTransactionTimeoutMs?: number
  /**
   * `connectionString` is PgBouncer in transaction mode, which refuses every startup parameter
   * but the few it tracks ("unsupported startup parameter: statement_timeout"): the three
   * server-side limits are then the pooler's to set on its server connections (`connect_query`,
   * docs/scale-out.md), and only the client-side `query_timeout` is kept here.
   */
  throughPooler?: boolean
  /** Where "connection lost" is reported (a warn line); nothing is logged without it. */
  log?: Log
  /**
   * PostgreSQL refused a new connection because it is shutting down (57P03). Given, the pool
   * also lets its own sessions go (ShutdownAwarePool below); without it the pool is plain and
   * its owner lets them go (graphile-worker's pools, stopped by the job-worker supervisor).
   */
  onServerShuttingDown?: () => void
}

/**
 * The one way this codebase opens a pg Pool. A connection PostgreSQL drops (failover, OOM kill,
 * `pg_terminate_backend`, network reset) emits `error` on its Client; pg-pool listens only while
 * the client is idle, so a drop while Kysely holds it was an unhandled 'error' event that
 * killed the process. Every client gets a listener from its first connect; the pool discards
 * the broken client at release and the next query opens a new one.
 *
 * The statement timeout is enforced by the server; a frozen server (SIGSTOP, a hung host) never
 * enforces it, so the client also gives up a second after it (`query_timeout`).
 *
 * @example
 * const pool = createPgPool({ connectionString: url, max: 10, statementTimeoutMs: 5000, log })
 */
export function createPgPool(options: PgPoolOptions): pg.Pool {
  const statement = options.statementTimeoutMs ?? 0
  const config: pg.PoolConfig = {
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.acquireTimeoutMs ?? 3_000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    ...(statement > 0 ? { query_timeout: statement + 1_000 } : {}),
    ...(options.throughPooler ? {} : sessionLimits(options)),
  }
  const pool = options.onServerShuttingDown ? new ShutdownAwarePool(config, options.onServerShuttingDown) : new pg.Pool(config)
  const lost = (err: unknown) =>
    options.log?.warn({ err: describePgError(err) }, 'PostgreSQL connection lost; the pool reconnects on the next query')
  // Idle clients (pg-pool forwards their errors here) …
  pool.on('error', lost)
  // … and clients checked out by a query or a transaction.
  pool.on('connect', (client) => client.on('error', lost))
  return pool
}

/** The server-side limits, sent as startup parameters of every session. */
function sessionLimits(options: PgPoolOptions): pg.PoolConfig {
  return {
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    ...(options.lockTimeoutMs ? { lock_timeout: options.lockTimeoutMs } : {}),
    ...(options.idleInTransactionTimeoutMs ? { idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs } : {}),
  }
}

type SessionLimits = Pick<PgPoolOptions, 'statementTimeoutMs' | 'lockTimeoutMs' | 'idleInTransactionTimeoutMs'>

/**
 * Through a pooler the server-side limits are the pooler's to set (`throughPooler`): the names
 * of those configured here that a pooled session does not have (PostgreSQL's 0, none), so a
 * pooler set up without them is said at boot instead of found out on a hung statement.
 */
export async function missingSessionLimits(pool: pg.Pool, limits: SessionLimits): Promise<string[]> {
  const { rows } = await pool.query<Record<string, string>>(
    `SELECT current_setting('statement_timeout') AS statement_timeout, current_setting('lock_timeout') AS lock_timeout,
            current_setting('idle_in_transaction_session_timeout') AS idle_in_transaction_session_timeout`,
  )
  const server = rows[0] ?? {}
  const wanted: Array<[string, number | undefined]> = [
    ['statement_timeout', limits.statementTimeoutMs],
    ['lock_timeout', limits.lockTimeoutMs],
    ['idle_in_transaction_session_timeout', limits.idleInTransactionTimeoutMs],
  ]
  return wanted.filter(([name, ms]) => (ms ?? 0) > 0 && server[name] === '0').map(([name]) => name)
}

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void

/** How long after a shutdown refusal released clients are closed instead of kept idle. */
const DRAIN_MS = 30_000

/**
 * Notices PostgreSQL shutting down: a new connection refused with 57P03 ("the database system
 * is shutting down"). A smart shutdown waits for every open session, and a busy pool never lets
 * its sessions go, so from then on (for DRAIN_MS) idle clients are closed and released ones are
 * destroyed instead of kept (`release(true)`, pg-pool's documented way), and `onShutdown` (once
 * per shutdown: until PostgreSQL accepts a new session) lets the dedicated LISTEN connections and
 * the job workers go too. Queries keep being answered on the sessions still
 * open; new ones get the refusal (a 503).
 */
class ShutdownAwarePool extends pg.Pool {
  private drainingUntil = 0
  /** `onShutdown` was called and PostgreSQL has not accepted a new session since. */
  private shutdownTold = false

  constructor(
    config: pg.PoolConfig,
    private readonly onShutdown: () => void,
  ) {
    super(config)
    // A new session accepted: PostgreSQL is up again, so the next refusal is another shutdown,
    // even within the drain window of the last one (two restarts 10 s apart: the second was
    // taken for the first, and the LISTEN connections and job workers were never told).
    this.on('connect', () => {
      this.shutdownTold = false
    })
  }

  override connect(): Promise<pg.PoolClient>
  override connect(callback: ConnectCallback): void
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    if (callback) {
      return super.connect((err, client, done) => {
        if (err && isServerShuttingDown(err)) this.shuttingDown()
        callback(err, client ? this.drainable(client) : client, done)
      })
    }
    return super.connect().then(
      (client) => this.drainable(client),
      (e: unknown) => {
        if (isServerShuttingDown(e)) this.shuttingDown()
        throw e
      },
    )
  }

  private draining(): boolean {
    return Date.now() < this.drainingUntil
  }

  private drainable(client: pg.PoolClient): pg.PoolClient {
    const release = client.release
    client.release = (err?: Error | boolean) => release(err || this.draining() || undefined)
    return client
  }

  private shuttingDown(): void {
    this.drainingUntil = Date.now() + DRAIN_MS
    if (!this.shutdownTold) {
      this.shutdownTold = true
      this.onShutdown()
    }
    // At every refusal, not only the first: a session that finished connecting just after the
    // first refusal would otherwise sit idle until idleTimeoutMillis (30 s) and keep the smart
    // shutdown waiting (seen once in a full run, with the background refresher's traffic).
    void this.closeIdle()
  }

  /** Takes each idle client (connect() hands out idle ones first) and destroys it. */
  private async closeIdle(): Promise<void> {
    for (let n = this.idleCount; n > 0; n--) {
      try {
        const client = await super.connect()
        client.release(true)
      } catch {
        return
      }
    }
  }
}
