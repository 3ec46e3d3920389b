import { sql, type Kysely } from 'kysely'
import { z } from 'zod'
import type { Database } from '../../db/schema'
import type { RateLimitDecision, RateLimiter } from '../../domain/ports/rate-limiter'

const HitRowSchema = z.object({ count: z.coerce.number().int(), retry_after: z.coerce.number() })

/**
 * Fixed windows aligned on the epoch, counted in `rate_limit_counters` with one atomic upsert,
 * so every app process shares the counts. The database clock defines the window.
 */
export class KyselyRateLimiter implements RateLimiter {
  private hits = 0

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: { pruneEvery?: number } = {},
  ) {}

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision> {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RangeError('windowSeconds must be a positive integer')
    const result = await sql<{ count: number; retry_after: number }>`
      INSERT INTO rate_limit_counters (key, window_start, count)
      VALUES (${key}, to_timestamp(floor(extract(epoch FROM now()) / ${windowSeconds}) * ${windowSeconds}), 1)
      ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_counters.count + 1
      RETURNING count,
        extract(epoch FROM (window_start + make_interval(secs => ${windowSeconds}) - now())) AS retry_after`.execute(this.db)
    const row = HitRowSchema.parse(result.rows[0])
    await this.maybePrune()
    const allowed = row.count <= limit
    return { allowed, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(row.retry_after)) }
  }

  /** Drops windows older than a day, now and then, so the table stays small. */
  private async maybePrune(): Promise<void> {
    this.hits++
    if (this.hits % (this.options.pruneEvery ?? 500) !== 0) return
    await this.db.deleteFrom('rate_limit_counters').where('window_start', '<', sql<Date>`now() - interval '1 day'`).execute()
  }
}
