import type { ParkedReceipt, ReceiptStore } from '../ports/receipt-store'

/** `ReceiptStore` in memory, for domain unit tests. */
export class InMemoryReceiptStore implements ReceiptStore {
  readonly rows: ParkedReceipt[] = []
  private seq = 0

  async park(r: Omit<ParkedReceipt, 'id'>): Promise<void> {
    this.rows.push({ ...r, id: String(++this.seq) })
  }

  async listFor(instanceId: string, upstreamMessageId: string): Promise<ParkedReceipt[]> {
    return this.rows
      .filter((r) => r.instanceId === instanceId && r.upstreamMessageId === upstreamMessageId)
      .sort((a, b) => a.eventAt.getTime() - b.eventAt.getTime() || Number(a.id) - Number(b.id))
      .map((r) => ({ ...r }))
  }

  async delete(ids: string[]): Promise<void> {
    for (let i = this.rows.length - 1; i >= 0; i--) if (ids.includes(this.rows[i]!.id)) this.rows.splice(i, 1)
  }

  async purgeReceivedBefore(cutoff: Date): Promise<number> {
    const before = this.rows.length
    for (let i = this.rows.length - 1; i >= 0; i--) if (this.rows[i]!.receivedAt < cutoff) this.rows.splice(i, 1)
    return before - this.rows.length
  }
}
