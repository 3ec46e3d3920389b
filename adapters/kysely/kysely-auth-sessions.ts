import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema'
import type { SessionPolicy, SessionRecord, SessionStore } from '../../domain/ports/session-store'

/**
 * Server-side session rows. Time comes from PostgreSQL's clock (one clock for every process);
 * the idle and absolute limits are enforced in the lookup query itself.
 */
export class KyselySessionStore implements SessionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly policy: SessionPolicy,
  ) {}

  async create(input: { idHash: string; userId: string; ip: string | null; userAgent: string | null }): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: input.idHash,
        user_id: input.userId,
        expires_at: sql<Date>`now() + make_interval(secs => ${this.policy.absoluteSeconds})`,
        ip: input.ip,
        user_agent: input.userAgent?.slice(0, 256) ?? null,
      })
      .execute()
  }

  async findLive(idHash: string): Promise<SessionRecord | null> {
    // One statement: find the live row and bump last_seen_at when it is older than a minute
    // (so a busy page does not write on every request).
    const { rows } = await sql<{ user_id: string; created_at: Date; last_seen_at: Date; expires_at: Date; touched: boolean }>`
      with live as (
        select id_hash, user_id, created_at, last_seen_at, expires_at from sessions
        where id_hash = ${idHash} and revoked_at is null and expires_at > now()
          and last_seen_at > now() - make_interval(secs => ${this.policy.idleSeconds})
      ), touched as (
        update sessions s set last_seen_at = now()
        from live where s.id_hash = live.id_hash and live.last_seen_at < now() - interval '60 seconds'
        returning s.id_hash
      )
      select live.user_id, live.created_at, live.last_seen_at, live.expires_at, exists(select 1 from touched) as touched
      from live`.execute(this.db)
    const row = rows[0]
    if (!row) return null
    return { userId: row.user_id, createdAt: row.created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at }
  }

  async revoke(idHash: string): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ revoked_at: sql<Date>`now()` })
      .where('id_hash', '=', idHash)
      .where('revoked_at', 'is', null)
      .execute()
  }
}
