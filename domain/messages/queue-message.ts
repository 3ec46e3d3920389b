import { requireWhatsAppEnabled } from '../whatsapp/features'
import { enforceRateLimit } from '../whatsapp/use-case-helpers'
import { IdempotencyConflictError, InvalidInputError, NotConnectedError, type DomainIssue } from '../whatsapp/whatsapp.errors'
import type { JobQueue } from '../ports/job-queue'
import type { JobRequest } from '../ports/message-store'
import type { SendQueueWaker } from '../ports/send-queue'
import { emitMessageUpdated } from './emit'
import { IDEMPOTENCY_WINDOW_HOURS, MESSAGE_SEND_WINDOW_HOURS, type MessageRecord } from './message'
import type { MessagesDeps } from './messages-deps'

export const MAX_TEXT_LENGTH = 20_000
export const MAX_REFERENCE_LENGTH = 200
const E164 = /^\+[1-9]\d{6,14}$/
const IDEMPOTENCY_PURPOSE = 'wa_messages.request'

/**
 * The send job of an instance: one pending per instance (job key), run one at a time (queue).
 * Without `runAt` (a new message): a run already scheduled keeps its time (the pace, or a
 * paused instance's recheck), so a burst of messages does not wake the drain once per message.
 */
export function sendJobFor(instanceId: string, runAt?: Date): JobRequest {
  return {
    task: 'wa.send-message',
    payload: { instanceId },
    options: {
      key: `wa-send:${instanceId}`,
      queue: `wa-send:${instanceId}`,
      ...(runAt ? { runAt } : { keyMode: 'preserveRunAt' as const }),
    },
  }
}

/**
 * The send job of an instance, to run now (the database's now): it replaces a run scheduled for
 * later (a recheck, a pace, a retry). A drain handing its slot on, or an instance that can send
 * again.
 */
export function sendJobNow(instanceId: string): JobRequest {
  return {
    task: 'wa.send-message',
    payload: { instanceId },
    options: { key: `wa-send:${instanceId}`, queue: `wa-send:${instanceId}` },
  }
}

/** The `SendQueueWaker` port over the job queue: the instance's drain runs now. */
export function sendQueueWaker(jobs: JobQueue): SendQueueWaker {
  return {
    async wake(instanceId) {
      const job = sendJobNow(instanceId)
      await jobs.enqueue(job.task, job.payload, job.options)
    },
  }
}

export interface QueueMessageInput {
  tenantId: string
  /** E.164 with `+` (the edge parsed national numbers with the tenant's country). */
  to: string
  text: string
  reference?: string | null
  idempotencyKey?: string | null
}

/**
 * `POST /api/wa/messages`: gate → validate → idempotency replay → rate limit → linked? → store
 * the `queued` message and wake its instance's send job in one transaction. Nothing is sent here:
 * the job paces sends per instance (decision 171). An idempotent replay (same key, same body,
 * within 24 h) returns the stored message with `replayed: true` (it counts for the rate limit like
 * any request: a retry storm is still a storm); the same key with another body is
 * `IdempotencyConflictError`.
 */
export async function queueMessage(
  deps: MessagesDeps,
  input: QueueMessageInput,
): Promise<{ message: MessageRecord; replayed: boolean }> {
  const { tenantId } = input
  await requireWhatsAppEnabled(deps, { tenantId })
  const issues: DomainIssue[] = []
  if (!E164.test(input.to)) issues.push({ path: 'to', message: 'must be a phone number (E.164)', code: 'phone' })
  if (input.text.length < 1 || input.text.length > MAX_TEXT_LENGTH)
    issues.push({ path: 'text', message: `1 to ${MAX_TEXT_LENGTH} characters`, code: 'length', vars: { max: MAX_TEXT_LENGTH } })
  const reference = input.reference ?? null
  if (reference !== null && (reference.length < 1 || reference.length > MAX_REFERENCE_LENGTH))
    issues.push({
      path: 'reference',
      message: `1 to ${MAX_REFERENCE_LENGTH} characters`,
      code: 'length',
      vars: { max: MAX_REFERENCE_LENGTH },
    })
  if (issues.length > 0) throw new InvalidInputError('invalid message', issues)

  const key = input.idempotencyKey ?? null
  const canonical = JSON.stringify([input.to, input.text, reference])
  const now = deps.clock.now()
  const idempotentSince = new Date(now.getTime() - IDEMPOTENCY_WINDOW_HOURS * 3600_000)

  await enforceRateLimit(deps, `wa:messages:${tenantId}`, deps.config.rateLimit)
  const connection = await deps.connections.findByTenant(tenantId)
  // Linked = an account behind the instance (even asleep or restricted: the message waits).
  if (!connection || connection.status === 'notAuthorized') throw new NotConnectedError()

  const created = await deps.store.createOutbound(
    {
      id: deps.ids.newId(),
      tenantId,
      instanceId: connection.instanceId,
      to: input.to,
      text: input.text,
      reference,
      idempotencyKey: key,
      requestFingerprint: key === null ? null : deps.hasher.hash(IDEMPOTENCY_PURPOSE, tenantId, canonical),
      createdAt: now,
      expiresAt: new Date(now.getTime() + MESSAGE_SEND_WINDOW_HOURS * 3600_000),
    },
    { idempotentSince, job: sendJobFor(connection.instanceId) },
  )
  if (created.kind === 'existing') {
    const same =
      created.requestFingerprint !== null &&
      deps.hasher.verify(created.requestFingerprint, IDEMPOTENCY_PURPOSE, tenantId, canonical)
    if (!same) throw new IdempotencyConflictError()
    return { message: created.message, replayed: true }
  }
  deps.logger.info({ tenantId, instanceId: connection.instanceId, messageId: created.message.id }, 'message queued')
  await emitMessageUpdated(deps, created.message)
  return { message: created.message, replayed: false }
}
