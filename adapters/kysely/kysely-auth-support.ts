import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema'

/**
 * OAuth `state` bookkeeping on rate_limit_counters (`oauth-state:` prefix, hash only): a callback
 * consumes an issued state at most once and only within `maxAgeSeconds` of issue. (Login
 * throttling, which used to live here too, is in kysely-login-throttle.ts.)
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
