import type { CrmEvent, EventSink } from '../ports/event-sink'
import type { WebhookDeps } from './webhook-deps'
import { eventPayloadAt } from './webhook-deps'
import { errorName } from './webhook-helpers'

/** Turns an event into the JSON its receivers get as `data` (the app's REST presenters). */
export type CrmEventPresenter = (event: CrmEvent) => Record<string, unknown>

/**
 * The real EventSink (decision 180): stores the event (its data encrypted, bound to tenant and
 * event id) with one delivery per enabled endpoint subscribed to its type, and their jobs, in one
 * transaction; the workers POST them (deliverEvent). It never calls an endpoint, and a failure
 * here is logged (type and error name only, never the data) and swallowed: the fact behind the
 * event is already stored.
 */
export class StoredEventSink implements EventSink {
  constructor(
    private readonly deps: Pick<WebhookDeps, 'store' | 'vault' | 'clock' | 'ids' | 'logger' | 'config'>,
    private readonly present: CrmEventPresenter,
  ) {}

  async emit(tenantId: string, event: CrmEvent): Promise<void> {
    const { store, vault, clock, ids, logger, config } = this.deps
    try {
      const now = clock.now()
      // `msg_` + 32 hex: the Standard Webhooks convention for a `webhook-id`.
      const id = `msg_${ids.newId().replaceAll('-', '')}`
      const payloadEncrypted = vault.encrypt(JSON.stringify(this.present(event)), eventPayloadAt(tenantId, id))
      await store.recordEvent(
        { id, tenantId, type: event.type, payloadEncrypted, createdAt: now },
        { newId: () => ids.newId(), retryUntil: new Date(now.getTime() + config.retryWindowMs) },
      )
    } catch (err) {
      logger.warn({ tenantId, type: event.type, err: errorName(err) }, 'CRM event not stored')
    }
  }
}
