import type { LinkDisplayRecord, LinkDisplayStore } from '../../domain/ports/link-display-store'

const MAX_ENTRIES = 10_000

/**
 * The settings page's QR/code displays in this process's memory, bounded: the least recently
 * saved tenant is dropped first (it renews once when its page reloads). With several app
 * processes each keeps its own; see `currentLinkDisplay` for how the renewal bound still holds.
 */
export class ProcessLinkDisplayStore implements LinkDisplayStore {
  private readonly records = new Map<string, LinkDisplayRecord>()
  private readonly running = new Map<string, Promise<unknown>>()

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  get(tenantId: string): LinkDisplayRecord | null {
    return this.records.get(tenantId) ?? null
  }

  save(tenantId: string, record: LinkDisplayRecord): void {
    // Map keeps insertion order: re-insert so the oldest is first, and drop it when full.
    this.records.delete(tenantId)
    this.records.set(tenantId, record)
    while (this.records.size > this.maxEntries) {
      const oldest = this.records.keys().next().value
      if (oldest === undefined) break
      this.records.delete(oldest)
    }
  }

  delete(tenantId: string): void {
    this.records.delete(tenantId)
  }

  once<T>(tenantId: string, task: () => Promise<T>): Promise<T> {
    const current = this.running.get(tenantId)
    if (current) return current as Promise<T>
    const started = task().finally(() => this.running.delete(tenantId))
    this.running.set(tenantId, started)
    return started
  }
}
