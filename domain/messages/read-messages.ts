import { requireWhatsAppEnabled } from '../whatsapp/features'
import { InvalidInputError, MessageNotFoundError } from '../whatsapp/whatsapp.errors'
import { decodeCursor, encodeCursor } from './cursor'
import type { MessageDirection, MessageRecord, MessageStatus } from './message'
import type { MessagesDeps } from './messages-deps'

export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 100

/** `GET /api/wa/messages/:id`: the tenant's message; another tenant's id is "not found". */
export async function getMessage(deps: MessagesDeps, input: { tenantId: string; id: string }): Promise<MessageRecord> {
  await requireWhatsAppEnabled(deps, { tenantId: input.tenantId })
  const message = await deps.store.findById(input.tenantId, input.id)
  if (!message) throw new MessageNotFoundError()
  return message
}

/** `GET /api/wa/messages`: newest first, `nextCursor` (opaque) while more pages exist. */
export async function listMessages(
  deps: MessagesDeps,
  input: { tenantId: string; direction?: MessageDirection; status?: MessageStatus; limit?: number; cursor?: string },
): Promise<{ messages: MessageRecord[]; nextCursor: string | null }> {
  await requireWhatsAppEnabled(deps, { tenantId: input.tenantId })
  const limit = input.limit ?? DEFAULT_PAGE_SIZE
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
    throw new InvalidInputError('invalid limit', [
      { path: 'limit', message: `1 to ${MAX_PAGE_SIZE}`, code: 'range', vars: { max: MAX_PAGE_SIZE } },
    ])
  const after = input.cursor === undefined ? undefined : decodeCursor(input.cursor)
  if (after === null)
    throw new InvalidInputError('invalid cursor', [{ path: 'cursor', message: 'not a cursor from this API', code: 'cursor' }])
  const page = await deps.store.list(input.tenantId, {
    limit,
    ...(input.direction ? { direction: input.direction } : {}),
    ...(input.status ? { status: input.status } : {}),
    ...(after ? { after } : {}),
  })
  const last = page.messages[page.messages.length - 1]
  return {
    messages: page.messages,
    nextCursor: page.hasMore && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
  }
}

/** The scheduled retention purge (`wa.purge-messages`): deletes messages older than `retentionDays`. */
export async function purgeOldMessages(deps: MessagesDeps): Promise<{ deleted: number }> {
  const cutoff = new Date(deps.clock.now().getTime() - deps.config.retentionDays * 86_400_000)
  const deleted = await deps.store.purgeOlderThan(cutoff)
  deps.logger.info({ deleted, retentionDays: deps.config.retentionDays }, 'messages purged')
  return { deleted }
}
