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

/** Records of the API tokens the app minted (the JWT itself is never stored). */
export interface ApiTokenStore {
  record(input: { jti: string; tenantId: string; userId: string; name: string; expiresAt: Date }): Promise<void>
  /** Tokens of one tenant, newest first. */
  list(tenantId: string): Promise<ApiTokenInfo[]>
  /** Revokes a token of THIS tenant; false when no such live token. */
  revoke(tenantId: string, jti: string): Promise<boolean>
  /** Best-effort `last_used_at` bump. */
  touch(jti: string): Promise<void>
}
