export interface SessionRecord {
  userId: string
  createdAt: Date
  lastSeenAt: Date
  expiresAt: Date
}

export interface SessionPolicy {
  /** Idle timeout: a session unused this long is dead. */
  idleSeconds: number
  /** Absolute lifetime from creation. */
  absoluteSeconds: number
}

/**
 * Server-side sessions, keyed by the sha256 of the cookie's random id (the id itself is never
 * stored). Revoked, idle-expired and absolutely-expired sessions are never returned.
 */
export interface SessionStore {
  create(input: { idHash: string; userId: string; ip: string | null; userAgent: string | null }): Promise<void>
  /** The live session, touching `last_seen_at` (at most once a minute). */
  findLive(idHash: string): Promise<SessionRecord | null>
  revoke(idHash: string): Promise<void>
}
