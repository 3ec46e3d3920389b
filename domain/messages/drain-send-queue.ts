import type { ConnectionRecord } from '../ports/connection-repository'
import type { OutgoingMessageInfo } from '../ports/whatsapp-provider'
import { credentialsOf } from '../whatsapp/use-case-helpers'
import { isDomainError } from '../whatsapp/whatsapp.errors'
import { emitMessageUpdated } from './emit'
import { sendingState, type MessageRecord } from './message'
import type { MessagesDeps } from './messages-deps'
import { sendJobFor, sendJobNow } from './queue-message'
import type { StatusChange } from '../ports/message-store'

export type DrainOutcome =
  /** Nothing left to send on this instance. */
  | { kind: 'empty'; sent: number }
  /**
   * Run again at `at` (pace, waiting instance, retry later, journal grace), or at once (`at`
   * null: the run handed its slot on after its budget, or because the workers stop).
   */
  | {
      kind: 'later'
      sent: number
      at: Date | null
      reason: 'pace' | 'budget' | 'stopping' | 'waiting' | 'paused' | 'retry' | 'lookup'
    }

const chatIdOf = (e164: string) => `${e164.replace(/^\+/, '')}@c.us`

export interface DrainInput {
  instanceId: string
  /** Aborted when the workers stop: the run hands its queue on (re-adds itself) and returns. */
  stopping?: AbortSignal
}

/**
 * The `wa.send-message` job of one instance (decision 171): sends its queued messages oldest
 * first, one at a time, never faster than `sendIntervalMs` measured from the last send that
 * started (so the pace holds across runs, processes and crashes), only while the stored state
 * is `authorized`. A run keeps its worker slot (the send pool's, not the other jobs') and sleeps
 * the pace in between for up to `drainBudgetMs`, then re-adds itself to run at once, behind the
 * other instances' runs already due; a pace longer than `maxInlineWaitMs` is a run scheduled for
 * the slot. The job runs in the instance's own graphile-worker queue, so two runs of one
 * instance never overlap.
 *
 * Never a double send (decision 172): a message is marked `sending` before the call; a run that
 * finds one still `sending` without an upstream id (the previous run died, or its answer was lost)
 * looks it up in Green-API's journal instead of sending again.
 */
export async function drainSendQueue(deps: MessagesDeps, input: DrainInput): Promise<DrainOutcome> {
  const { instanceId, stopping } = input
  const started = deps.clock.now().getTime()
  let sent = 0
  const later = async (at: Date | null, reason: Extract<DrainOutcome, { kind: 'later' }>['reason']): Promise<DrainOutcome> => {
    const job = at ? sendJobFor(instanceId, at) : sendJobNow(instanceId)
    await deps.jobs.enqueue(job.task, job.payload, job.options)
    return { kind: 'later', sent, at, reason }
  }

  for (;;) {
    if (stopping?.aborted) return later(null, 'stopping')
    // Read together: the time between the end of a pace and the send is the pace's only loss.
    const [message, connection, last] = await Promise.all([
      deps.store.nextToSend(instanceId),
      deps.connections.findByInstanceId(instanceId),
      deps.store.lastSendStartedAt(instanceId),
    ])
    if (!message) return { kind: 'empty', sent }
    const now = deps.clock.now()

    if (message.status === 'queued' && message.expiresAt && message.expiresAt.getTime() <= now.getTime()) {
      await change(deps, message, {
        status: 'failed',
        at: now,
        error: { code: 'EXPIRED', message: 'Not sent within 24 hours of its creation (the instance could not send)' },
      })
      continue
    }

    const usable = connection && connection.tenantId === message.tenantId ? connection : null
    if (message.status === 'sending') {
      // An interrupted send: find out whether it left before anything else.
      if (!usable) return later(new Date(now.getTime() + deps.config.recheckMs), 'waiting')
      const next = await recover(deps, usable, message)
      if (next) return later(next.at, next.reason)
      continue
    }

    const state = usable ? sendingState(usable.status) : 'waiting'
    if (!usable || state !== 'sending') {
      return later(nextCheck(deps, now, message), state === 'paused' ? 'paused' : 'waiting')
    }

    const dueAt = last ? last.getTime() + deps.config.sendIntervalMs : now.getTime()
    if (dueAt > now.getTime()) {
      const wait = dueAt - now.getTime()
      // A long pace: no slot held while waiting for it.
      if (wait > deps.config.maxInlineWaitMs) return later(new Date(dueAt), 'pace')
      // Budget spent: hand the slot on; the next run (behind the runs already due) sleeps the rest.
      if (dueAt > started + deps.config.drainBudgetMs) return later(null, 'budget')
      // Wake a little early to read the queue and the state again, so the reads do not delay the slot...
      if (wait > deps.config.rereadBeforeSlotMs) {
        await deps.sleep(wait - deps.config.rereadBeforeSlotMs, stopping)
        continue
      }
      // ...then wait out the rest (never early: a timer may fire a millisecond before its time)
      // and send on what was read just now.
      await sleepUntil(deps, dueAt, stopping)
      if (stopping?.aborted) return later(null, 'stopping')
    }
    if (now.getTime() >= started + deps.config.drainBudgetMs) return later(null, 'budget')

    const outcome = await sendOne(deps, usable, message)
    if (outcome === 'sent') sent++
    else if (outcome !== 'done') return later(outcome.at, outcome.reason)
  }
}

async function sleepUntil(deps: MessagesDeps, at: number, stopping: AbortSignal | undefined): Promise<void> {
  for (let left = at - deps.clock.now().getTime(); left > 0 && !stopping?.aborted; left = at - deps.clock.now().getTime()) {
    await deps.sleep(left, stopping)
  }
}

/** While the instance cannot send: look again after `recheckMs`, or when the oldest message expires. */
function nextCheck(deps: MessagesDeps, now: Date, message: MessageRecord): Date {
  const recheck = now.getTime() + deps.config.recheckMs
  const expiry = message.expiresAt?.getTime() ?? recheck
  return new Date(Math.max(now.getTime() + 1, Math.min(recheck, expiry)))
}

async function change(deps: MessagesDeps, message: MessageRecord, c: StatusChange): Promise<MessageRecord> {
  const r = await deps.store.applyStatus(message.tenantId, message.id, c)
  if (r?.changed) {
    deps.logger.info(
      {
        tenantId: message.tenantId,
        instanceId: message.instanceId,
        messageId: message.id,
        status: r.message.status,
        error: c.error?.code ?? null,
      },
      'message status changed',
    )
    await emitMessageUpdated(deps, r.message)
  }
  return r?.message ?? message
}

type Retry = { at: Date; reason: 'retry' | 'lookup' }

async function sendOne(
  deps: MessagesDeps,
  connection: ConnectionRecord,
  message: MessageRecord,
): Promise<'sent' | 'done' | Retry> {
  const creds = credentialsOf(deps, connection)
  const startedAt = deps.clock.now()
  const sending = await change(deps, message, { status: 'sending', at: startedAt, sendStartedAt: startedAt })
  if (sending.status !== 'sending') return 'done'
  let attempt
  try {
    attempt = await deps.provider.trySendText(creds, message.peer, message.text)
  } catch (err) {
    // Credentials refused, or a recipient the adapter cannot send to: nothing left upstream.
    const code = isDomainError(err) ? err.code : 'UNEXPECTED'
    if (code === 'VALIDATION_FAILED') {
      await change(deps, sending, {
        status: 'failed',
        at: deps.clock.now(),
        error: { code: 'UPSTREAM_REJECTED', message: 'The recipient or the text cannot be sent through Green-API' },
      })
      return 'done'
    }
    await requeue(deps, sending)
    deps.logger.warn(
      { instanceId: message.instanceId, messageId: message.id, code },
      'send failed before reaching Green-API; retrying later',
    )
    return { at: new Date(deps.clock.now().getTime() + deps.config.recheckMs), reason: 'retry' }
  }
  const now = deps.clock.now()
  switch (attempt.kind) {
    case 'sent':
      await change(deps, sending, { status: 'sent', at: now, upstreamMessageId: attempt.messageId })
      return 'sent'
    case 'rejected':
      await change(deps, sending, {
        status: 'failed',
        at: now,
        error:
          attempt.reason === 'noAccount'
            ? { code: 'NO_WHATSAPP_ACCOUNT', message: 'The recipient has no WhatsApp account' }
            : { code: 'UPSTREAM_REJECTED', message: 'Green-API refused the message' },
      })
      return 'done'
    case 'notSent':
      await requeue(deps, sending)
      return { at: new Date(now.getTime() + Math.max(1, attempt.retryAfterSeconds) * 1000), reason: 'retry' }
    case 'maybeSent':
      // The request left: leave it `sending`; the next run looks it up (after the journal's delay).
      deps.logger.warn({ instanceId: message.instanceId, messageId: message.id }, 'send outcome unknown; will look it up')
      return { at: new Date(now.getTime() + Math.min(deps.config.recoveryGraceMs, 30_000)), reason: 'lookup' }
  }
}

async function requeue(deps: MessagesDeps, message: MessageRecord): Promise<void> {
  const r = await deps.store.returnToQueue(message.tenantId, message.id, deps.clock.now())
  if (r?.changed) await emitMessageUpdated(deps, r.message)
}

const UPSTREAM_STATUS: Record<string, 'delivered' | 'read' | undefined> = { delivered: 'delivered', read: 'read' }

/**
 * A message left `sending` without an upstream id: look it up in the instance's journal (same
 * chat, same text, sent at or after our `sendStartedAt` minus the clock skew, not already another
 * message's). Found → resume (`sent`, and on to what the journal says); not found within the
 * journal's delay → look again later; not found after it → `unknown`, never resent.
 */
async function recover(deps: MessagesDeps, connection: ConnectionRecord, message: MessageRecord): Promise<Retry | null> {
  const now = deps.clock.now()
  const since = (message.sendStartedAt ?? message.createdAt).getTime()
  const creds = credentialsOf(deps, connection)
  let journal: OutgoingMessageInfo[]
  try {
    const minutes = Math.ceil((now.getTime() - since + deps.config.clockSkewMs) / 60_000) + 1
    journal = await deps.provider.lastOutgoingMessages(creds, { minutes })
  } catch (err) {
    const retryAfter = isDomainError(err) ? (err.retryAfterSeconds ?? 5) : 5
    return { at: new Date(now.getTime() + retryAfter * 1000), reason: 'lookup' }
  }
  const chatId = chatIdOf(message.peer)
  const candidates = journal
    .filter((e) => e.chatId === chatId && e.text === message.text && e.at.getTime() >= since - deps.config.clockSkewMs - 1000)
    .sort((a, b) => a.at.getTime() - b.at.getTime())
  for (const entry of candidates) {
    if (await deps.store.findByUpstreamId(message.instanceId, entry.messageId)) continue
    deps.logger.info({ instanceId: message.instanceId, messageId: message.id }, 'interrupted send found in the journal')
    if (entry.status === 'noAccount') {
      await change(deps, message, {
        status: 'failed',
        at: now,
        upstreamMessageId: entry.messageId,
        error: { code: 'NO_WHATSAPP_ACCOUNT', message: 'The recipient has no WhatsApp account' },
      })
      return null
    }
    const sent = await change(deps, message, { status: 'sent', at: now, upstreamMessageId: entry.messageId })
    const further = entry.status ? UPSTREAM_STATUS[entry.status] : undefined
    if (further) await change(deps, sent, { status: further, at: now })
    return null
  }
  if (now.getTime() - since < deps.config.recoveryGraceMs) {
    return { at: new Date(since + deps.config.recoveryGraceMs), reason: 'lookup' }
  }
  await change(deps, message, {
    status: 'unknown',
    at: now,
    error: {
      code: 'SEND_OUTCOME_UNKNOWN',
      message:
        "The send was interrupted and Green-API's journal does not show it: it may not have been sent. It was not sent again.",
    },
  })
  return null
}
