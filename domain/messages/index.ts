// The messages context's public surface (outside domain/, import from here or a port).
export * from './message'
export { advanceStatus } from './advance-status'
export { decodeCursor, encodeCursor, type MessageCursor } from './cursor'
export { messageView } from './message-view'
export {
  applyParkedReceipts,
  applyReceipt,
  inboundContent,
  receiveInbound,
  IncomingEventSchema,
  ReceiptEventSchema,
  PARKED_RECEIPT_HOURS,
  type MessageEventDeps,
  type ReceiptOutcome,
} from './provider-message-events'
