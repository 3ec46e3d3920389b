import { sql, type Kysely, type RawBuilder } from 'kysely'
import { z } from 'zod'
import type { Database } from '../../db/schema'
import type { Clock } from '../../domain/ports/clock'
import type { RateLimitDecision, RateLimiter } from '../../domain/ports/rate-limiter'

const HitRowSchema = z.object({ allowed: z.boolean(), retry_after: z.coerce.number().nullable() })

/**
 * Sliding windows in `rate_limit_windows`: a key's row holds the times of the hits accepted in
 * the last `windowSeconds` (at most `limit`), so no span of `windowSeconds` ever has more than
 * `limit` accepted hits — fixed windows aligned on the clock let twice the limit through around
 * a boundary. One upsert decides and records: the row lock of `ON CONFLICT DO UPDATE` makes
 * concurrent hits (any process) count one after the other. Refused hits are not recorded, so
 * `retryAfterSeconds` is exactly when the oldest accepted hit leaves the window.
 *
 * Time is the database's (`now()`, shared by every process) unless a clock is given (tests).
 */
export class KyselyRateLimiter implements RateLimiter {
  private hits = 0

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: { pruneEvery?: number; clock?: Clock } = {},
  ) {}

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision> {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RangeError('windowSeconds must be a positive integer')
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer')
    const now: RawBuilder<Date> = this.options.clock ? sql`${this.options.clock.now()}::timestamptz` : sql`now()`
    const since = sql`${now} - make_interval(secs => ${windowSeconds})`
    // The hits still inside the window, oldest first (from the row as it was before this hit).
    const recent = sql`ARRAY(SELECT h FROM unnest(w.hits) AS h WHERE h > ${since} ORDER BY h)`
    const result = await sql<{ allowed: boolean; retry_after: number | null }>`
      INSERT INTO rate_limit_windows AS w (key, hits, window_seconds, last_allowed, updated_at)
      VALUES (${key}, ARRAY[${now}], ${windowSeconds}, true, ${now})
      ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN cardinality(${recent}) < ${limit} THEN ${recent} || ${now} ELSE ${recent} END,
        last_allowed = cardinality(${recent}) < ${limit},
        window_seconds = ${windowSeconds},
        updated_at = ${now}
      RETURNING last_allowed AS allowed,
        extract(epoch FROM (hits[1] + make_interval(secs => ${windowSeconds}) - ${now})) AS retry_after`.execute(this.db)
    const row = HitRowSchema.parse(result.rows[0])
    await this.maybePrune()
    return { allowed: row.allowed, retryAfterSeconds: row.allowed ? 0 : Math.max(1, Math.ceil(row.retry_after ?? windowSeconds)) }
  }

  /** Drops keys idle for longer than their window, now and then, so the table stays small. */
  private async maybePrune(): Promise<void> {
    this.hits++
    if (this.hits % (this.options.pruneEvery ?? 500) !== 0) return
    await sql`DELETE FROM rate_limit_windows WHERE updated_at < now() - make_interval(secs => window_seconds)`.execute(this.db)
  }
}
