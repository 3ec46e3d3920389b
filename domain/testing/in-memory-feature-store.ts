import type { FeatureFlags, FeatureStore, UpgradeRequestOutcome } from '../ports/feature-store'

/** FeatureStore fake: flags per tenant, open upgrade requests deduplicated like the partial unique index. */
export class InMemoryFeatureStore implements FeatureStore {
  readonly flags = new Map<string, FeatureFlags>()
  readonly upgradeRequests: { tenantId: string; feature: 'whatsapp'; requestedBy: string | null; handled: boolean }[] = []
  getFlagsCalls = 0

  setFlags(tenantId: string, flags: Partial<FeatureFlags>): void {
    this.flags.set(tenantId, { whatsapp_enabled: false, sms_enabled: true, email_enabled: true, ...flags })
  }

  async getFlags(tenantId: string): Promise<FeatureFlags | null> {
    this.getFlagsCalls++
    const f = this.flags.get(tenantId)
    return f ? { ...f } : null
  }

  async recordUpgradeRequest(input: { tenantId: string; feature: 'whatsapp'; requestedBy: string | null }): Promise<UpgradeRequestOutcome> {
    const open = this.upgradeRequests.find((r) => r.tenantId === input.tenantId && r.feature === input.feature && !r.handled)
    if (open) return 'already_pending'
    this.upgradeRequests.push({ ...input, handled: false })
    return 'recorded'
  }
}
