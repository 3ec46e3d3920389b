import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema'
import type { LoginThrottle, ThrottleReservation, ThrottleRule } from '../../domain/ports/login-throttle'

const NO_LIMIT = 2_147_483_647 // integer column: "no hard limit" for rules that only delay

/** The wait (seconds) after `failures` failures under `rule`, in SQL (progressive delay). */
function delaySql(rule: ThrottleRule, failures: ReturnType<typeof sql>) {
  const d = rule.delay
  if (!d) return sql`0`
  return sql`LEAST(${d.maxSeconds}::float8, CASE WHEN ${failures} < ${d.freeFailures} THEN 0 ELSE ${d.baseSeconds}::float8 * power(2, ${failures} - ${d.freeFailures}) END)`
}

/**
 * Login throttling on `login_throttle` (docs/decisions/080). `reserve` runs one transaction that
 * upserts every rule's row in key order (so two attempts never deadlock); each upsert only
 * counts when its row still allows an attempt, and PostgreSQL evaluates that condition on the
 * row it has locked, so N concurrent attempts get N distinct counts. One exhausted rule rolls
 * the whole reservation back. Times are the database's (`now()`), never the app's clock.
 */
export class KyselyLoginThrottle implements LoginThrottle {
  private successes = 0

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: { pruneEvery?: number } = {},
  ) {}

  async reserve(rules: ThrottleRule[]): Promise<ThrottleReservation> {
    const ordered = [...rules].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    const blocked = await this.db
      .transaction()
      .execute(async (trx) => {
        for (const rule of ordered) {
          const limit = Math.min(rule.limit, NO_LIMIT)
          const window = sql`make_interval(secs => ${rule.windowSeconds})`
          const expired = sql`t.window_start <= now() - ${window}`
          const next = sql`CASE WHEN ${expired} THEN 1 ELSE t.failures + 1 END`
          const { rows } = await sql<{ failures: number }>`
            INSERT INTO login_throttle AS t (key, failures, window_start, next_attempt_at)
            VALUES (${rule.key}, 1, now(), now() + make_interval(secs => ${delaySql(rule, sql`1`)}))
            ON CONFLICT (key) DO UPDATE SET
              failures = ${next},
              window_start = CASE WHEN ${expired} THEN now() ELSE t.window_start END,
              next_attempt_at = now() + make_interval(secs => ${delaySql(rule, next)})
            WHERE ${expired} OR (t.failures < ${limit} AND t.next_attempt_at <= now())
            RETURNING failures`.execute(trx)
          if (rows.length === 0) {
            const wait = await sql<{ seconds: number }>`
              SELECT extract(epoch FROM GREATEST(
                next_attempt_at,
                CASE WHEN failures >= ${limit} THEN window_start + make_interval(secs => ${rule.windowSeconds}) ELSE now() END
              ) - now())::float8 AS seconds
              FROM login_throttle WHERE key = ${rule.key}`.execute(trx)
            // Throwing rolls back the rules already charged in this transaction.
            throw new Blocked(Math.max(1, Math.ceil(Number(wait.rows[0]?.seconds ?? 1))))
          }
        }
        return null
      })
      .catch((error: unknown) => {
        if (error instanceof Blocked) return error
        throw error
      })
    return blocked ? { allowed: false, retryAfterSeconds: blocked.retryAfterSeconds } : { allowed: true }
  }

  async succeeded(rules: ThrottleRule[]): Promise<void> {
    for (const rule of rules) {
      if (rule.clearOnSuccess) {
        await this.db.deleteFrom('login_throttle').where('key', '=', rule.key).execute()
        continue
      }
      const left = sql`GREATEST(t.failures - 1, 0)`
      await sql`
        UPDATE login_throttle AS t
        SET failures = ${left},
            next_attempt_at = LEAST(t.next_attempt_at, now() + make_interval(secs => ${delaySql(rule, left)}))
        WHERE t.key = ${rule.key}`.execute(this.db)
    }
    await this.maybePrune()
  }

  async isKnownAddress(key: string, maxAgeSeconds: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('login_known_addresses')
      .select('key')
      .where('key', '=', key)
      .where('last_success_at', '>', sql<Date>`now() - make_interval(secs => ${maxAgeSeconds})`)
      .executeTakeFirst()
    return row !== undefined
  }

  async rememberAddress(key: string): Promise<void> {
    await sql`
      INSERT INTO login_known_addresses (key, last_success_at) VALUES (${key}, now())
      ON CONFLICT (key) DO UPDATE SET last_success_at = now()`.execute(this.db)
  }

  /** Old windows and long-unused addresses are useless: drop them now and then. */
  private async maybePrune(): Promise<void> {
    this.successes += 1
    if (this.successes % (this.options.pruneEvery ?? 100) !== 0) return
    await this.db
      .deleteFrom('login_throttle')
      .where('window_start', '<', sql<Date>`now() - interval '2 days'`)
      .execute()
    await this.db
      .deleteFrom('login_known_addresses')
      .where('last_success_at', '<', sql<Date>`now() - interval '180 days'`)
      .execute()
  }
}

class Blocked extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('login throttled')
  }
}
