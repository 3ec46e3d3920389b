import type { MessageStatus } from './message'

const RANK: Partial<Record<MessageStatus, number>> = { queued: 0, sending: 1, sent: 2, delivered: 3, read: 4 }

/**
 * The status a message moves to when `next` is observed while it is `current` (a pure rule; the
 * store applies it under a row lock). Receipts arrive late, twice and out of order, so:
 * - the happy path only moves forward (`queued < sending < sent < delivered < read`): a late
 *   `sent` after `delivered` changes nothing (never `delivered → sent`);
 * - `unknown` (we could not tell whether Green-API got the send) yields to any later evidence:
 *   `sent`, `delivered`, `read` or `failed`;
 * - `failed` is final, and comes too late once the message is `delivered` or `read`;
 * - `received` belongs to inbound messages and never moves.
 * Going back from `sending` to `queued` (Green-API answered that it did not take the message) is
 * not a status observation: see `MessageStore.returnToQueue`.
 *
 * @example
 * advanceStatus('delivered', 'sent') // { status: 'delivered', changed: false }
 */
export function advanceStatus(current: MessageStatus, next: MessageStatus): { status: MessageStatus; changed: boolean } {
  const keep = { status: current, changed: false }
  if (current === next) return keep
  if (current === 'failed' || current === 'received' || next === 'received') return keep
  if (current === 'unknown') {
    return next === 'sent' || next === 'delivered' || next === 'read' || next === 'failed'
      ? { status: next, changed: true }
      : keep
  }
  const from = RANK[current]
  if (from === undefined) return keep
  if (next === 'failed') return current === 'delivered' || current === 'read' ? keep : { status: 'failed', changed: true }
  // Only a message we tried to send can become unknown.
  if (next === 'unknown') return current === 'sending' ? { status: 'unknown', changed: true } : keep
  const to = RANK[next]
  if (to === undefined || to <= from) return keep
  return { status: next, changed: true }
}
