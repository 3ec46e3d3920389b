import type {
  DeliveryAttempt,
  DeliveryOutcome,
  DeliveryWithAttempts,
  StoredCrmEvent,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookStore,
} from '../ports/webhook-store'

/** The webhook tables in memory; `scheduled` records every delivery job the store would add. */
export class InMemoryWebhookStore implements WebhookStore {
  readonly endpoints = new Map<string, WebhookEndpoint>()
  readonly events = new Map<string, StoredCrmEvent>()
  readonly deliveries = new Map<string, WebhookDelivery>()
  readonly attempts: DeliveryAttempt[] = []
  readonly scheduled: Array<{ deliveryId: string; runAt: Date | null }> = []
  failNextRecord = false

  async createEndpoint(e: WebhookEndpoint) {
    this.endpoints.set(e.id, { ...e })
  }
  async listEndpoints(tenantId: string) {
    return [...this.endpoints.values()].filter((e) => e.tenantId === tenantId)
  }
  async findEndpoint(tenantId: string, id: string) {
    const e = this.endpoints.get(id)
    return e && e.tenantId === tenantId ? { ...e } : null
  }
  async deleteEndpoint(tenantId: string, id: string) {
    if (!(await this.findEndpoint(tenantId, id))) return false
    this.endpoints.delete(id)
    for (const [k, d] of this.deliveries) if (d.endpointId === id) this.deliveries.delete(k)
    return true
  }
  async replaceSecret(tenantId: string, id: string, secretEncrypted: string) {
    const e = this.endpoints.get(id)
    if (!e || e.tenantId !== tenantId) return false
    e.secretEncrypted = secretEncrypted
    return true
  }
  async disableEndpoint(tenantId: string, id: string, at: Date, reason: string) {
    const e = this.endpoints.get(id)
    if (!e || e.tenantId !== tenantId || !e.enabled) return false
    Object.assign(e, { enabled: false, disabledAt: at, disabledReason: reason })
    return true
  }
  async recordEvent(event: StoredCrmEvent, plan: { newId: () => string; retryUntil: Date }) {
    if (this.failNextRecord) {
      this.failNextRecord = false
      throw new Error('database down')
    }
    const listening = [...this.endpoints.values()].filter(
      (e) => e.tenantId === event.tenantId && e.enabled && (!e.events || e.events.length === 0 || e.events.includes(event.type)),
    )
    if (listening.length === 0) return []
    this.events.set(event.id, { ...event })
    return listening.map((e) => {
      const id = plan.newId()
      this.deliveries.set(id, {
        id,
        tenantId: event.tenantId,
        eventId: event.id,
        endpointId: e.id,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: event.createdAt,
        retryUntil: plan.retryUntil,
        lastAttemptAt: null,
        lastHttpStatus: null,
        lastError: null,
        createdAt: event.createdAt,
      })
      this.scheduled.push({ deliveryId: id, runAt: null })
      return id
    })
  }
  async loadDelivery(deliveryId: string) {
    const delivery = this.deliveries.get(deliveryId)
    const event = delivery && this.events.get(delivery.eventId)
    const endpoint = delivery && this.endpoints.get(delivery.endpointId)
    return delivery && event && endpoint ? { delivery: { ...delivery }, event: { ...event }, endpoint: { ...endpoint } } : null
  }
  async recordAttempt(attempt: DeliveryAttempt, outcome: DeliveryOutcome) {
    const d = this.deliveries.get(attempt.deliveryId)
    if (!d) return
    Object.assign(d, {
      status: outcome.status,
      attempts: d.attempts + 1,
      nextAttemptAt: outcome.nextAttemptAt,
      lastAttemptAt: attempt.at,
      lastHttpStatus: attempt.httpStatus,
      lastError: attempt.error,
    })
    this.attempts.push({ ...attempt })
    if (outcome.nextAttemptAt) this.scheduled.push({ deliveryId: d.id, runAt: outcome.nextAttemptAt })
  }
  async resetDelivery(tenantId: string, deliveryId: string, input: { now: Date; retryUntil: Date }) {
    const d = this.deliveries.get(deliveryId)
    if (!d || d.tenantId !== tenantId) return false
    Object.assign(d, { status: 'pending', nextAttemptAt: input.now, retryUntil: input.retryUntil })
    Object.assign(this.endpoints.get(d.endpointId)!, { enabled: true, disabledAt: null, disabledReason: null })
    this.scheduled.push({ deliveryId, runAt: null })
    return true
  }
  async listDeliveries(tenantId: string, endpointId: string, limits: { deliveries: number; attemptsEach: number }) {
    return [...this.deliveries.values()]
      .filter((d) => d.tenantId === tenantId && d.endpointId === endpointId)
      .slice(-limits.deliveries)
      .reverse()
      .map((d): DeliveryWithAttempts => ({
        ...d,
        eventType: this.events.get(d.eventId)!.type,
        attemptLog: this.attempts
          .filter((a) => a.deliveryId === d.id)
          .reverse()
          .slice(0, limits.attemptsEach),
      }))
  }

  async purgeEventsBefore(cutoff: Date): Promise<number> {
    let n = 0
    for (const [id, e] of this.events) {
      if (e.createdAt >= cutoff) continue
      this.events.delete(id)
      n++
      for (const [deliveryId, d] of this.deliveries) {
        if (d.eventId !== id) continue
        this.deliveries.delete(deliveryId)
        for (let i = this.attempts.length - 1; i >= 0; i--)
          if (this.attempts[i]!.deliveryId === deliveryId) this.attempts.splice(i, 1)
      }
    }
    return n
  }
}
