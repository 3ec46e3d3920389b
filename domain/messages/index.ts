// The messages context's public surface (outside domain/, import from here or a port).
export * from './message'
export { advanceStatus } from './advance-status'
export { decodeCursor, encodeCursor, type MessageCursor } from './cursor'
export { DEFAULT_MESSAGES_CONFIG, type MessagesConfig, type MessagesDeps } from './messages-deps'
export { messageView, type MessageView } from './message-view'
export {
  MAX_REFERENCE_LENGTH,
  MAX_TEXT_LENGTH,
  queueMessage,
  sendJobFor,
  sendJobNow,
  sendQueueWaker,
  type QueueMessageInput,
} from './queue-message'
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, getMessage, listMessages, purgeOldMessages } from './read-messages'
export { drainSendQueue, type DrainOutcome } from './drain-send-queue'
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
export { recentMessages, type RecentMessage } from './recent-messages'
