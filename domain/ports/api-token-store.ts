export interface ApiTokenInfo {
  jti: string
  tenantId: string
  userId: string
  name: string
  createdAt: Date
  expiresAt: Date
  lastUsedAt: Date | null
  revokedAt: Date | null
}

/**
 * An app token's `last_used_at` is a hint for its owner, not an access log: it moves at most
 * once per this interval. The guard skips the touch while the value it read is younger; the
 * store's UPDATE enforces it across processes.
 */
export const API_TOKEN_TOUCH_INTERVAL_SECONDS = 60

/** Records of the API tokens the app minted (the JWT itself is never stored). */
export interface ApiTokenStore {
  record(input: { jti: string; tenantId: string; userId: string; name: string; expiresAt: Date }): Promise<void>
  /** Tokens of one tenant, newest first. */
  list(tenantId: string): Promise<ApiTokenInfo[]>
  /** Revokes a token of THIS tenant; false when no such live token. */
  revoke(tenantId: string, jti: string): Promise<boolean>
  /** Best-effort `last_used_at` bump, unless it moved less than `API_TOKEN_TOUCH_INTERVAL_SECONDS` ago. */
  touch(jti: string): Promise<void>
}
