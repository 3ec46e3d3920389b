import type { LinkDisplayRecord, LinkDisplayStore } from '../ports/link-display-store'

/** `LinkDisplayStore` for unit tests: a Map, one task per tenant at a time, and a task counter. */
export class InMemoryLinkDisplayStore implements LinkDisplayStore {
  readonly records = new Map<string, LinkDisplayRecord>()
  private readonly running = new Map<string, Promise<unknown>>()
  tasksStarted = 0

  get(tenantId: string): LinkDisplayRecord | null {
    return this.records.get(tenantId) ?? null
  }

  save(tenantId: string, record: LinkDisplayRecord): void {
    this.records.set(tenantId, record)
  }

  delete(tenantId: string): void {
    this.records.delete(tenantId)
  }

  once<T>(tenantId: string, task: () => Promise<T>): Promise<T> {
    const current = this.running.get(tenantId)
    if (current) return current as Promise<T>
    this.tasksStarted++
    const started = task().finally(() => this.running.delete(tenantId))
    this.running.set(tenantId, started)
    return started
  }
}
