import type { Kysely } from 'kysely'
import { z } from 'zod'
import type { Database } from '../../db/schema'
import { PROVIDER_RECEIPT_STATUSES, type ParkedReceipt, type ReceiptStore } from '../../domain/ports/receipt-store'

const RowSchema = z.object({
  id: z.coerce.string(),
  tenant_id: z.string(),
  instance_id: z.string(),
  upstream_message_id: z.string(),
  status: z.enum(PROVIDER_RECEIPT_STATUSES),
  event_at: z.coerce.date(),
  received_at: z.coerce.date(),
})

/** `ReceiptStore` on PostgreSQL (`wa_message_receipts`). */
export class KyselyReceiptStore implements ReceiptStore {
  constructor(private readonly db: Kysely<Database>) {}

  async park(r: Omit<ParkedReceipt, 'id'>): Promise<void> {
    await this.db
      .insertInto('wa_message_receipts')
      .values({
        tenant_id: r.tenantId,
        instance_id: r.instanceId,
        upstream_message_id: r.upstreamMessageId,
        status: r.status,
        event_at: r.eventAt,
        received_at: r.receivedAt,
      })
      .execute()
  }

  async listFor(instanceId: string, upstreamMessageId: string): Promise<ParkedReceipt[]> {
    const rows = await this.db
      .selectFrom('wa_message_receipts')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('upstream_message_id', '=', upstreamMessageId)
      .orderBy('event_at')
      .orderBy('id')
      .execute()
    return rows.map((raw) => {
      const r = RowSchema.parse(raw)
      return {
        id: r.id,
        tenantId: r.tenant_id,
        instanceId: r.instance_id,
        upstreamMessageId: r.upstream_message_id,
        status: r.status,
        eventAt: r.event_at,
        receivedAt: r.received_at,
      }
    })
  }

  async delete(ids: string[]): Promise<void> {
    if (ids.length === 0) return
    await this.db.deleteFrom('wa_message_receipts').where('id', 'in', ids).execute()
  }

  async purgeReceivedBefore(cutoff: Date): Promise<number> {
    const res = await this.db.deleteFrom('wa_message_receipts').where('received_at', '<', cutoff).executeTakeFirst()
    return Number(res.numDeletedRows)
  }
}
