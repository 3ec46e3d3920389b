/** The QR image or pairing code the settings page shows for a running link attempt. */
export type ShownLink =
  | { kind: 'qr'; /** `data:image/png;base64,…`: show it, never log it. */ qrCode: string; expiresAt: Date }
  | { kind: 'pairing'; code: string; expiresAt: Date }

export interface LinkDisplayRecord {
  /** The hard limit of the attempt this belongs to: it identifies the attempt. */
  attemptExpiresAt: Date
  /** What to show again on the next reload; null after a failed renewal. */
  shown: ShownLink | null
  /** Automatic QR renewals since the admin's last click. */
  renewals: number
}

/**
 * What the settings page shows while a link attempt runs, per tenant. Kept in the process's
 * memory only (never in the database, never in a cookie) for as long as it can be used: a QR
 * image is a credential for a few seconds. Bounded; an evicted tenant simply renews once.
 *
 * @example
 * displays.save('macrea', { attemptExpiresAt, shown: { kind: 'qr', qrCode, expiresAt }, renewals: 0 })
 * displays.get('macrea')?.renewals // 0
 */
export interface LinkDisplayStore {
  get(tenantId: string): LinkDisplayRecord | null
  save(tenantId: string, record: LinkDisplayRecord): void
  delete(tenantId: string): void
  /**
   * Runs `task` once per tenant at a time: callers that arrive while it runs (several tabs, the
   * meta refresh) share its outcome instead of starting their own.
   */
  once<T>(tenantId: string, task: () => Promise<T>): Promise<T>
}
