import type { Clock } from '../ports/clock'
import type { FeatureFlags, FeatureStore, HandleUpgradeOutcome, UpgradeRequestOutcome } from '../ports/feature-store'

/** FeatureStore fake: flags per tenant, open upgrade requests deduplicated like the partial unique index. */
export class InMemoryFeatureStore implements FeatureStore {
  readonly flags = new Map<string, FeatureFlags>()
  readonly upgradeRequests: {
    tenantId: string
    feature: 'whatsapp'
    requestedBy: string | null
    handled: boolean
    handledAt?: Date
  }[] = []
  getFlagsCalls = 0
  /** When WhatsApp Pro went off, per tenant (the trigger of the real table). */
  readonly endedAt = new Map<string, Date>()
  /** Whether a tenant still holds an instance (the test world wires it to its other fakes). */
  holdsInstance: (tenantId: string) => Promise<boolean> = async () => false

  constructor(private readonly clock: Clock = { now: () => new Date() }) {}

  setFlags(tenantId: string, flags: Partial<FeatureFlags>): void {
    this.flags.set(tenantId, { whatsapp_enabled: false, sms_enabled: true, email_enabled: true, ...flags })
  }

  async getFlags(tenantId: string): Promise<FeatureFlags | null> {
    this.getFlagsCalls++
    const f = this.flags.get(tenantId)
    return f ? { ...f } : null
  }

  async recordUpgradeRequest(input: {
    tenantId: string
    feature: 'whatsapp'
    requestedBy: string | null
  }): Promise<UpgradeRequestOutcome> {
    const open = this.upgradeRequests.find((r) => r.tenantId === input.tenantId && r.feature === input.feature && !r.handled)
    if (open) return 'already_pending'
    this.upgradeRequests.push({ ...input, handled: false })
    return 'recorded'
  }

  async changeFlags(tenantId: string, changes: Partial<FeatureFlags>): Promise<{ before: FeatureFlags; after: FeatureFlags }> {
    const before = this.flags.get(tenantId) ?? { whatsapp_enabled: false, sms_enabled: true, email_enabled: true }
    const after = { ...before, ...changes }
    this.flags.set(tenantId, after)
    if (after.whatsapp_enabled) this.endedAt.delete(tenantId)
    else if (before.whatsapp_enabled) this.endedAt.set(tenantId, this.clock.now())
    return { before: { ...before }, after: { ...after } }
  }

  /** Request ids are 1-based positions in `upgradeRequests`. */
  async handleUpgradeRequest(id: string, options: { enable: boolean }): Promise<HandleUpgradeOutcome> {
    const request = this.upgradeRequests[Number(id) - 1]
    if (!request) return { kind: 'missing' }
    if (request.handled) return { kind: 'already_handled', at: request.handledAt ?? new Date(0) }
    request.handled = true
    request.handledAt = new Date()
    if (options.enable) await this.changeFlags(request.tenantId, { whatsapp_enabled: true })
    return { kind: 'handled', tenantId: request.tenantId, feature: request.feature }
  }

  async whatsappEndedAt(tenantId: string): Promise<Date | null> {
    return this.endedAt.get(tenantId) ?? null
  }

  async endedWhileHoldingInstance(cutoff: Date, limit: number): Promise<string[]> {
    const due: Array<[string, Date]> = []
    for (const [tenantId, at] of this.endedAt) {
      if (at < cutoff && (await this.holdsInstance(tenantId))) due.push([tenantId, at])
    }
    return due
      .sort((a, b) => a[1].getTime() - b[1].getTime())
      .slice(0, limit)
      .map(([tenantId]) => tenantId)
  }
}
