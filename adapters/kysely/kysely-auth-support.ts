import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema'

/**
 * Small SQL the auth code needs and no shared adapter offers (yet): login-failure counters that
 * can be READ without counting (a fixed window on rate_limit_counters, same table and window
 * arithmetic as the shared KyselyRateLimiter, own `login:` key prefix) and single-use OAuth
 * states (`oauth-state:` prefix; pruned with the other old windows).
 */
export class KyselyLoginThrottle {
  constructor(private readonly db: Kysely<Database>) {}

  /** Seconds until `key` may try again (0 = allowed): `limit` failures already in this window. */
  async blockedFor(key: string, limit: number, windowSeconds: number): Promise<number> {
    const { rows } = await sql<{ count: number; retry_after: number }>`
      SELECT count, extract(epoch FROM (window_start + make_interval(secs => ${windowSeconds}) - now()))::float8 AS retry_after
      FROM rate_limit_counters
      WHERE key = ${key} AND window_start = to_timestamp(floor(extract(epoch FROM now()) / ${windowSeconds}) * ${windowSeconds})`.execute(this.db)
    const row = rows[0]
    if (!row || Number(row.count) < limit) return 0
    return Math.max(1, Math.ceil(Number(row.retry_after)))
  }

  /** Counts one failure (same window arithmetic as KyselyRateLimiter: epoch-aligned, DB clock). */
  async recordFailure(key: string, windowSeconds: number): Promise<void> {
    await sql`
      INSERT INTO rate_limit_counters (key, window_start, count)
      VALUES (${key}, to_timestamp(floor(extract(epoch FROM now()) / ${windowSeconds}) * ${windowSeconds}), 1)
      ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_counters.count + 1`.execute(this.db)
  }
}

/**
 * OAuth `state` bookkeeping: issued states are recorded (hash only), and a callback consumes one
 * at most once and only within `maxAgeSeconds` of issue.
 */
export class KyselyOAuthStateStore {
  constructor(private readonly db: Kysely<Database>) {}

  async issue(stateHash: string): Promise<void> {
    await this.db
      .insertInto('rate_limit_counters')
      .values({ key: `oauth-state:${stateHash}`, window_start: sql<Date>`now()` as unknown as Date, count: 0 })
      .execute()
    // Old states are useless: prune them opportunistically.
    await this.db
      .deleteFrom('rate_limit_counters')
      .where('key', 'like', 'oauth-state:%')
      .where('window_start', '<', sql<Date>`now() - interval '1 day'` as unknown as Date)
      .execute()
  }

  /** true exactly once per issued state, and only while it is younger than maxAgeSeconds. */
  async consume(stateHash: string, maxAgeSeconds: number): Promise<boolean> {
    const res = await this.db
      .updateTable('rate_limit_counters')
      .set({ count: 1 })
      .where('key', '=', `oauth-state:${stateHash}`)
      .where('count', '=', 0)
      .where('window_start', '>', sql<Date>`now() - make_interval(secs => ${maxAgeSeconds})` as unknown as Date)
      .executeTakeFirst()
    return Number(res.numUpdatedRows) === 1
  }
}
