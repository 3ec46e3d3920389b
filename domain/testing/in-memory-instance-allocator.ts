import type { Clock } from '../ports/clock'
import type {
  InstanceAllocator,
  InstanceMode,
  InstanceRecord,
  PoolRegistration,
  RegisterInstanceInput,
} from '../ports/instance-allocator'
import { InstanceBusyError, NoInstanceAvailableError, UpstreamUnavailableError } from '../whatsapp/whatsapp.errors'

/** InstanceAllocator fake: same invariants as the table (one tenant per instance and vice versa). */
export class InMemoryInstanceAllocator implements InstanceAllocator {
  readonly rows = new Map<string, InstanceRecord>()
  readonly polledAt = new Map<string, number>()
  /** Retry bookkeeping of quarantined instances (the table's logout_* and broken_at columns). */
  readonly logoutRetries = new Map<
    string,
    { failures: number; retryAt: Date | null; leaseUntil: Date | null; brokenAt: Date | null }
  >()
  leaseCalls = 0

  constructor(private readonly clock: Clock) {}

  async findClaimedBy(tenantId: string): Promise<InstanceRecord | null> {
    for (const r of this.rows.values()) if (r.tenantId === tenantId) return { ...r }
    return null
  }

  async findById(instanceId: string): Promise<InstanceRecord | null> {
    const r = this.rows.get(instanceId)
    return r ? { ...r } : null
  }

  async claimById(instanceId: string, tenantId: string, at: Date): Promise<InstanceRecord> {
    const mine = await this.findClaimedBy(tenantId)
    if (mine) return mine
    const r = this.rows.get(instanceId)
    if (!r) throw new NoInstanceAvailableError()
    if (r.tenantId && r.tenantId !== tenantId) throw new InstanceBusyError()
    if (!this.notBeingReset(r, at))
      throw new UpstreamUnavailableError('The WhatsApp instance is being reset; try again shortly', { retryAfterSeconds: 5 })
    const claimed = { ...r, tenantId, claimedAt: at }
    this.rows.set(instanceId, claimed)
    return { ...claimed }
  }

  async claimFirstFree(mode: 'pool' | 'simulator', tenantId: string, at: Date): Promise<InstanceRecord> {
    const mine = await this.findClaimedBy(tenantId)
    if (mine) return mine
    const candidates = [...this.rows.values()].filter((r) => r.mode === mode && r.tenantId === null && this.notBeingReset(r, at))
    const free = candidates.find((r) => !r.needsLogout) ?? candidates[0]
    if (!free) throw new NoInstanceAvailableError()
    return this.claimById(free.id, tenantId, at)
  }

  async registerClaimed(
    input: RegisterInstanceInput & { tenantId: string; encryptedWebhookToken: string | null; at: Date },
  ): Promise<InstanceRecord> {
    if (this.rows.has(input.id) || (await this.findClaimedBy(input.tenantId))) throw new InstanceBusyError()
    const r: InstanceRecord = {
      id: input.id,
      mode: input.mode,
      apiUrl: input.apiUrl,
      encryptedToken: input.encryptedToken,
      encryptedWebhookToken: input.encryptedWebhookToken,
      tenantId: input.tenantId,
      claimedAt: input.at,
      needsLogout: false,
    }
    this.rows.set(r.id, r)
    return { ...r }
  }

  async register(input: RegisterInstanceInput): Promise<InstanceRecord> {
    const existing = this.rows.get(input.id)
    const r: InstanceRecord = existing
      ? { ...existing, mode: input.mode, apiUrl: input.apiUrl, encryptedToken: input.encryptedToken }
      : { ...input, encryptedWebhookToken: null, tenantId: null, claimedAt: null, needsLogout: false }
    this.rows.set(r.id, r)
    return { ...r }
  }

  async registerPool(input: Omit<RegisterInstanceInput, 'mode'>, options: { replace: boolean }): Promise<PoolRegistration> {
    const existing = this.rows.get(input.id)
    if (!existing) {
      await this.register({ ...input, mode: 'pool' })
      return { outcome: 'added' }
    }
    if (!options.replace) return { outcome: 'exists' }
    if (existing.mode !== 'pool') return { outcome: 'refused', reason: 'not_pool', mode: existing.mode }
    if (existing.tenantId) return { outcome: 'refused', reason: 'claimed', tenantId: existing.tenantId }
    this.rows.set(input.id, { ...existing, apiUrl: input.apiUrl, encryptedToken: input.encryptedToken })
    return { outcome: 'replaced' }
  }

  /** Test helper: register a free instance of a mode. */
  add(id: string, mode: InstanceMode, encryptedToken: string, apiUrl = `https://${id.slice(0, 4)}.api.example.test`): void {
    this.rows.set(id, {
      id,
      mode,
      apiUrl,
      encryptedToken,
      encryptedWebhookToken: null,
      tenantId: null,
      claimedAt: null,
      needsLogout: false,
    })
  }

  async setWebhookToken(instanceId: string, tenantId: string, encryptedWebhookToken: string): Promise<void> {
    const r = this.rows.get(instanceId)
    if (r && r.tenantId === tenantId) this.rows.set(instanceId, { ...r, encryptedWebhookToken })
  }

  async release(instanceId: string, tenantId: string, options: { needsLogout?: boolean } = {}): Promise<void> {
    const r = this.rows.get(instanceId)
    if (r && r.tenantId === tenantId) {
      this.rows.set(instanceId, {
        ...r,
        tenantId: null,
        claimedAt: null,
        encryptedWebhookToken: null,
        needsLogout: options.needsLogout ?? false,
      })
      this.polledAt.delete(instanceId)
      if (!options.needsLogout) this.logoutRetries.delete(instanceId)
    }
  }

  async markLoggedOut(instanceId: string, tenantId: string): Promise<void> {
    const r = this.rows.get(instanceId)
    if (r && r.tenantId === tenantId) {
      this.rows.set(instanceId, { ...r, needsLogout: false })
      this.logoutRetries.delete(instanceId)
    }
  }

  /** Same rule as the table adapter: healthy, or quarantined but not broken nor being retried. */
  private notBeingReset(r: InstanceRecord, at: Date): boolean {
    const q = this.retriesOf(r.id)
    return !r.needsLogout || (q.brokenAt === null && (q.leaseUntil === null || q.leaseUntil <= at))
  }

  private retriesOf(instanceId: string) {
    return this.logoutRetries.get(instanceId) ?? { failures: 0, retryAt: null, leaseUntil: null, brokenAt: null }
  }

  /** Like the table adapter: never-retried instances first, then by retry time, then oldest. */
  async takeDueQuarantined(at: Date, leaseUntil: Date): Promise<InstanceRecord | null> {
    const due = [...this.rows.values()].filter((r) => {
      const q = this.retriesOf(r.id)
      if (!r.needsLogout || r.tenantId !== null || q.brokenAt !== null) return false
      return !((q.retryAt !== null && q.retryAt > at) || (q.leaseUntil !== null && q.leaseUntil > at))
    })
    const retryTime = (r: InstanceRecord) => this.retriesOf(r.id).retryAt?.getTime() ?? -Infinity
    const next = due.sort((a, b) => retryTime(a) - retryTime(b))[0]
    if (!next) return null
    this.logoutRetries.set(next.id, { ...this.retriesOf(next.id), leaseUntil })
    return { ...next }
  }

  async recordLogoutFailure(instanceId: string): Promise<number> {
    if (!this.rows.has(instanceId)) return 0
    const q = this.retriesOf(instanceId)
    this.logoutRetries.set(instanceId, { ...q, failures: q.failures + 1 })
    return q.failures + 1
  }

  async scheduleLogoutRetry(instanceId: string, next: { retryAt: Date } | { brokenAt: Date }): Promise<void> {
    if (!this.rows.get(instanceId)?.needsLogout) return
    const q = this.retriesOf(instanceId)
    this.logoutRetries.set(instanceId, {
      ...q,
      leaseUntil: null,
      ...('retryAt' in next ? { retryAt: next.retryAt } : { retryAt: null, brokenAt: next.brokenAt }),
    })
  }

  async clearQuarantine(instanceId: string): Promise<void> {
    const r = this.rows.get(instanceId)
    if (!r || r.tenantId !== null || !r.needsLogout) return
    this.rows.set(instanceId, { ...r, needsLogout: false })
    this.logoutRetries.delete(instanceId)
  }

  async remove(instanceId: string, tenantId: string): Promise<void> {
    const r = this.rows.get(instanceId)
    if (r && r.tenantId === tenantId) this.rows.delete(instanceId)
  }

  async tryAcquirePollLeases(instanceIds: readonly string[], minIntervalMs: number): Promise<Set<string>> {
    this.leaseCalls++
    const won = new Set<string>()
    const now = this.clock.now().getTime()
    for (const id of new Set(instanceIds)) {
      const last = this.polledAt.get(id)
      if (last !== undefined && last > now - minIntervalMs) continue
      this.polledAt.set(id, now)
      won.add(id)
    }
    return won
  }

  async tryAcquirePollLease(instanceId: string, minIntervalMs: number): Promise<boolean> {
    this.leaseCalls++
    const now = this.clock.now().getTime()
    const last = this.polledAt.get(instanceId)
    if (last !== undefined && last > now - minIntervalMs) return false
    this.polledAt.set(instanceId, now)
    return true
  }
}
