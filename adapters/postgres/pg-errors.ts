/**
 * What PostgreSQL (and node-postgres) failures mean for a caller: "the database is unreachable
 * or too slow right now, try again" (a 503, never a 500) versus a real bug. The codes are
 * PostgreSQL's SQLSTATEs (appendix A of its manual) and Node's socket errors.
 */
const UNAVAILABLE_SQLSTATES = new Set([
  '57014', // query_canceled: statement_timeout
  '55P03', // lock_not_available: lock_timeout
  '25P03', // idle_in_transaction_session_timeout
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded
])
const UNAVAILABLE_SQLSTATE_CLASS = /^(08|57P0)/ // connection exceptions; admin/crash shutdown, cannot connect now
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
])
// node-postgres and pg-pool raise these as plain Errors without a code.
const CLIENT_MESSAGES = [
  /^Connection terminated/, // unexpectedly | due to connection timeout
  /^timeout exceeded when trying to connect$/, // pool acquire timeout
  /^Query read timeout$/, // query_timeout (the server is frozen)
  /not queryable/, // a client whose connection already failed
  /^Client was closed and is not queryable$/,
  /^Cannot use a pool after calling end on the pool$/, // shutting down
  /^Connection timeout$/,
]

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** True when `e` (or an error it wraps) says PostgreSQL is unreachable, shutting down or timed out. */
export function isDatabaseUnavailable(e: unknown, depth = 0): boolean {
  if (!(e instanceof Error) || depth > 4) return false
  const code = codeOf(e)
  if (code && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SQLSTATE_CLASS.test(code) || SOCKET_CODES.has(code))) return true
  if (!code && CLIENT_MESSAGES.some((re) => re.test(e.message))) return true
  // Node's happy-eyeballs connect gives an AggregateError of per-address failures.
  if (e instanceof AggregateError && e.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true
  return isDatabaseUnavailable((e as { cause?: unknown }).cause, depth + 1)
}

/**
 * PostgreSQL refused a new session because it is stopping or starting (57P03 cannot_connect_now):
 * the notice to let idle sessions go, which a smart shutdown waits for. Not 57P01 (admin_shutdown):
 * that ends one session that is already gone (`pg_terminate_backend`, a fast shutdown, the
 * postmaster's death), so there is nothing to let go; taking it for a notice restarted the job
 * workers in the middle of a crash, while graphile-worker's pool was closing clients it had just
 * taken its error listener off (an unhandled 'error' ended the app once in CI).
 */
export function isServerShuttingDown(e: unknown): boolean {
  return codeOf(e) === '57P03'
}

/** A log-safe summary (no query text, no parameters, no connection string). */
export function describePgError(e: unknown): { name: string; code?: string; message: string } {
  if (!(e instanceof Error)) return { name: 'unknown', message: String(e).slice(0, 200) }
  const code = codeOf(e)
  return { name: e.name, ...(code ? { code } : {}), message: e.message.slice(0, 200) }
}
