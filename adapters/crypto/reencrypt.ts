/**
 * Key rotation: re-encrypt every stored envelope that is not under the vault's current key.
 *
 * Storage-agnostic and domain-free: it sees rows only through `SecretRowSource` and the vault
 * only through the structural `ReencryptionVault` (which `AesGcmCredentialVault` satisfies).
 *
 * - Resumable: the source lists only rows whose envelope is not under the current key, so a
 *   rerun after an interruption picks up exactly what is left. Within one run an id cursor per
 *   column guarantees progress even past rows that cannot be decrypted.
 * - Safe with concurrent writers: every write is a compare-and-set on the envelope that was
 *   read. If the application changed the row meanwhile, the new value wins and the row counts as
 *   `skipped` (a later run re-encrypts it if it is still under an old key).
 * - Plaintexts exist only in memory, one row at a time; nothing is logged.
 */

/** Where a secret lives (same shape as the domain's `SecretLocation`). */
export interface SecretRowLocation {
  tenantId: string
  table: string
  column: string
}

export interface SecretColumnRef {
  readonly table: string
  readonly column: string
}

export interface SecretRow {
  readonly table: string
  readonly column: string
  /** Primary key as text; ordering of `listStale` follows the column's own id ordering. */
  readonly id: string
  readonly location: SecretRowLocation
  readonly envelope: string
}

export interface SecretRowSource {
  /** The encrypted columns covered, in a stable order. */
  columns(): readonly SecretColumnRef[]
  /**
   * Up to `limit` rows of `ref` with a non-null envelope that is NOT under `currentKeyId`,
   * with id > `afterId` (all when null), in ascending id order.
   */
  listStale(
    ref: SecretColumnRef,
    page: { currentKeyId: string; afterId: string | null; limit: number },
  ): Promise<readonly SecretRow[]>
  /** Writes `next` only if the stored envelope still equals `row.envelope`; true if written. */
  compareAndSet(row: SecretRow, next: string): Promise<boolean>
}

export interface ReencryptionVault {
  encrypt(plaintext: string, at: SecretRowLocation): string
  decrypt(envelope: string, at: SecretRowLocation): string
  needsReencryption(envelope: string): boolean
  currentKeyId(): string
}

export interface ReencryptCounts {
  /** Rows listed as not under the current key. */
  scanned: number
  /** Rows rewritten under the current key. */
  reencrypted: number
  /** Rows left alone: changed concurrently (compare-and-set lost) or already current. */
  skipped: number
  /** Rows that could not be decrypted (unknown key, tampered, wrong location). Left as they are. */
  failed: number
}

export interface ReencryptProgress extends ReencryptCounts {
  table: string
  column: string
  /** Id of the last row of the batch just finished. */
  lastId: string
}

export interface ReencryptOptions {
  batchSize?: number
  /** Called after each batch; may be async. Throwing aborts the run (already written rows stay). */
  onProgress?: (progress: ReencryptProgress) => void | Promise<void>
}

export async function reencryptAll(
  rows: SecretRowSource,
  vault: ReencryptionVault,
  { batchSize = 200, onProgress }: ReencryptOptions = {},
): Promise<ReencryptCounts> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer')
  const currentKeyId = vault.currentKeyId()
  const counts: ReencryptCounts = { scanned: 0, reencrypted: 0, skipped: 0, failed: 0 }

  for (const ref of rows.columns()) {
    let afterId: string | null = null
    for (;;) {
      const batch = await rows.listStale(ref, { currentKeyId, afterId, limit: batchSize })
      if (batch.length === 0) break
      for (const row of batch) {
        counts.scanned += 1
        if (!vault.needsReencryption(row.envelope)) {
          counts.skipped += 1
          continue
        }
        let plaintext: string
        try {
          plaintext = vault.decrypt(row.envelope, row.location)
        } catch {
          counts.failed += 1
          continue
        }
        const next = vault.encrypt(plaintext, row.location)
        if (await rows.compareAndSet(row, next)) counts.reencrypted += 1
        else counts.skipped += 1
      }
      afterId = batch[batch.length - 1]!.id
      await onProgress?.({ ...counts, table: ref.table, column: ref.column, lastId: afterId })
      if (batch.length < batchSize) break
    }
  }
  return counts
}
