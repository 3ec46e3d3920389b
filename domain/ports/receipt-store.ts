/** What Green-API's `outgoingMessageStatus` reports (docs/green-api.md#outgoingmessagestatus). */
export const PROVIDER_RECEIPT_STATUSES = ['sent', 'delivered', 'read', 'failed', 'noAccount', 'notInGroup', 'yellowCard'] as const
export type ProviderReceiptStatus = (typeof PROVIDER_RECEIPT_STATUSES)[number]

/** A receipt kept until its message's idMessage is stored. Ids and a status only: no personal data. */
export interface ParkedReceipt {
  id: string
  /** The tenant holding the instance when it came: only that tenant's message takes it. */
  tenantId: string
  instanceId: string
  upstreamMessageId: string
  status: ProviderReceiptStatus
  /** Green-API's time of the receipt. */
  eventAt: Date
  /** When we got it (the 24 h keep is counted from it). */
  receivedAt: Date
}

/**
 * Receipts that arrived before the send stored Green-API's idMessage (the call returned, the row
 * is not updated yet): kept 24 h and applied once the id is known (docs/decisions/175).
 */
export interface ReceiptStore {
  park(receipt: Omit<ParkedReceipt, 'id'>): Promise<void>
  /** The receipts kept for this message, oldest first (by event time, then arrival). */
  listFor(instanceId: string, upstreamMessageId: string): Promise<ParkedReceipt[]>
  delete(ids: string[]): Promise<void>
  /** Forgets receipts received before `cutoff`; returns how many. */
  purgeReceivedBefore(cutoff: Date): Promise<number>
}
