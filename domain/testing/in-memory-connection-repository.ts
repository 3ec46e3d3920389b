import type {
  CheckedObservation,
  DueForRefreshQuery,
  ConnectionRecord,
  ConnectionRepository,
  DeleteOptions,
  SaveLinkAttemptInput,
  StatusEvent,
  StatusSource,
  StatusUpdate,
  StatusUpdateOutcome,
} from '../ports/connection-repository'
import type { ConnectionState } from '../whatsapp/connection-state'
import { planStatusUpdate } from '../whatsapp/status-update'
import { profileKept, withProfile, type ProfilePicture } from '../whatsapp/linked-profile'
import { sameAccount } from '../whatsapp/linked-account'
import { InstanceBusyError } from '../whatsapp/whatsapp.errors'

export interface TimelineEntry {
  tenantId: string
  instanceId: string | null
  from: string | null
  to: string
  source: StatusSource
  at: Date
}

/** ConnectionRepository fake with the same semantics as the Kysely adapter (shared `planStatusUpdate`). */
export class InMemoryConnectionRepository implements ConnectionRepository {
  readonly rows = new Map<string, ConnectionRecord>()
  readonly timeline: TimelineEntry[] = []
  /** Entries the retention purge removed: kept in `timeline` so the others' ids (positions) stay. */
  private readonly purged = new Set<TimelineEntry>()
  readonly lastLinked = new Map<string, string>()
  /** Stored profile pictures by tenant (the row's `account.picture` names the version served). */
  readonly pictures = new Map<string, ProfilePicture>()

  async findByTenant(tenantId: string): Promise<ConnectionRecord | null> {
    const r = this.rows.get(tenantId)
    return r ? { ...r } : null
  }

  async findByInstanceId(instanceId: string): Promise<ConnectionRecord | null> {
    for (const r of this.rows.values()) if (r.instanceId === instanceId) return { ...r }
    return null
  }

  async saveLinkAttempt(input: SaveLinkAttemptInput): Promise<ConnectionRecord> {
    for (const r of this.rows.values()) {
      if (r.instanceId === input.instanceId && r.tenantId !== input.tenantId) throw new InstanceBusyError()
    }
    const existing = this.rows.get(input.tenantId)
    if (existing) {
      const updated: ConnectionRecord = {
        ...existing,
        instanceId: input.instanceId,
        encryptedConfig: input.encryptedConfig,
        linkStartedAt: input.linkStartedAt,
        linkExpiresAt: input.linkExpiresAt,
        expectedPhone: input.expectedPhone ?? null,
        wrongNumber: null,
      }
      this.rows.set(input.tenantId, updated)
      return { ...updated }
    }
    const created: ConnectionRecord = {
      tenantId: input.tenantId,
      instanceId: input.instanceId,
      encryptedConfig: input.encryptedConfig,
      status: 'notAuthorized',
      isActive: false,
      account: null,
      profileFetchedAt: null,
      linkStartedAt: input.linkStartedAt,
      linkExpiresAt: input.linkExpiresAt,
      statusChangedAt: input.linkStartedAt,
      statusCheckedAt: null,
      lastEventAt: null,
      expectedPhone: input.expectedPhone ?? null,
      wrongNumber: null,
    }
    this.rows.set(input.tenantId, created)
    this.timeline.push({
      tenantId: input.tenantId,
      instanceId: input.instanceId,
      from: null,
      to: 'notAuthorized',
      source: 'link',
      at: input.linkStartedAt,
    })
    return { ...created }
  }

  async applyStatus(tenantId: string, update: StatusUpdate): Promise<StatusUpdateOutcome> {
    const current = this.rows.get(tenantId)
    if (!current) return { outcome: 'missing' }
    const plan = planStatusUpdate(current, update)
    if (plan.kind === 'stale') return { outcome: 'stale', record: { ...current } }
    const next: ConnectionRecord = { ...current, ...plan.patch }
    if (!profileKept(current.account, next.account)) {
      next.profileFetchedAt = null
      this.pictures.delete(tenantId)
    }
    if (next.status === 'authorized') {
      next.wrongNumber = null
      if (next.account) this.lastLinked.set(tenantId, next.account.phone)
    }
    this.rows.set(tenantId, next)
    if (plan.kind === 'unchanged') return { outcome: 'unchanged', record: { ...next } }
    if (plan.timeline) {
      this.timeline.push({
        tenantId,
        instanceId: current.instanceId,
        ...plan.timeline,
        source: update.source,
        at: update.checkedAt,
      })
    }
    return { outcome: 'changed', previous: { ...current }, record: { ...next } }
  }

  async recordLinkExpired(tenantId: string, at: Date): Promise<boolean> {
    const r = this.rows.get(tenantId)
    if (!r || r.status !== 'notAuthorized' || !r.linkStartedAt || !r.linkExpiresAt || r.linkExpiresAt > at) return false
    const started = r.linkStartedAt
    const already = this.timeline.some((e) => e.tenantId === tenantId && e.source === 'expire' && e.at >= started)
    if (already) return false
    this.timeline.push({ tenantId, instanceId: r.instanceId, from: r.status, to: r.status, source: 'expire', at })
    return true
  }

  async listDueForRefresh(input: DueForRefreshQuery): Promise<ConnectionRecord[]> {
    const expiryRecorded = (r: ConnectionRecord) =>
      this.timeline.some(
        (e) => e.tenantId === r.tenantId && e.source === 'expire' && r.linkStartedAt !== null && e.at >= r.linkStartedAt,
      )
    const checkedMs = (r: ConnectionRecord) => r.statusCheckedAt?.getTime() ?? -Infinity
    const oldestFirst = (rows: ConnectionRecord[]) => rows.sort((a, b) => checkedMs(a) - checkedMs(b)).slice(0, input.limit)
    const rows = [...this.rows.values()]
    // Each kind with its own limit: link attempts, then linked rows due.
    const attempts =
      input.only === 'linked'
        ? []
        : rows.filter((r) => r.status === 'notAuthorized' && r.linkExpiresAt !== null && !expiryRecorded(r))
    const linked =
      input.only === 'attempts'
        ? []
        : rows.filter(
            (r) => r.status !== 'notAuthorized' && (r.statusCheckedAt === null || r.statusCheckedAt < input.checkedBefore),
          )
    return [...oldestFirst(attempts), ...oldestFirst(linked)].map((r) => ({ ...r }))
  }

  async recordChecked(checks: ReadonlyArray<CheckedObservation>): Promise<number> {
    let n = 0
    for (const c of checks) {
      const r = this.rows.get(c.tenantId)
      if (!r || r.status !== c.status || (r.statusCheckedAt && r.statusCheckedAt >= c.at)) continue
      this.rows.set(c.tenantId, { ...r, statusCheckedAt: c.at })
      n++
    }
    return n
  }

  async delete(tenantId: string, at: Date, options: DeleteOptions = {}): Promise<ConnectionRecord | null> {
    const r = this.rows.get(tenantId)
    if (!r) return null
    this.rows.delete(tenantId)
    this.pictures.delete(tenantId)
    let from: string = r.status
    const since = options.ourLogoutSince
    if (since) {
      // Entries keep their positions (ids): an echo leaves the listing like a purged one.
      const echoes = this.timeline.filter(
        (e) =>
          e.tenantId === tenantId &&
          e.instanceId === r.instanceId &&
          e.to === 'notAuthorized' &&
          (e.source === 'webhook' || e.source === 'poll' || e.source === 'reconcile') &&
          e.at >= since,
      )
      if (echoes[0]) from = echoes[0].from ?? r.status
      for (const e of echoes) this.purged.add(e)
    }
    this.timeline.push({ tenantId, instanceId: r.instanceId, from, to: 'notAuthorized', source: 'disconnect', at })
    return { ...r }
  }

  async listForReconcile(now: Date): Promise<ConnectionRecord[]> {
    return [...this.rows.values()]
      .filter((r) => r.status !== 'notAuthorized' || (r.linkExpiresAt !== null && r.linkExpiresAt > now))
      .map((r) => ({ ...r }))
  }

  /** Entries' ids are their 1-based positions in `timeline` (append-only, like a bigserial). */
  async listStatusEvents(
    tenantId: string,
    query: { limit: number; beforeId?: string },
  ): Promise<{ events: StatusEvent[]; hasMore: boolean }> {
    const all = this.timeline
      .map((e, i) => ({ e, id: i + 1 }))
      .filter(({ e }) => e.tenantId === tenantId && !this.purged.has(e))
      .sort((a, b) => b.e.at.getTime() - a.e.at.getTime() || b.id - a.id)
    let rest = all
    if (query.beforeId !== undefined) {
      const at = all.findIndex(({ id }) => String(id) === query.beforeId)
      rest = at === -1 ? [] : all.slice(at + 1)
    }
    const events = rest.slice(0, query.limit).map(({ e, id }) => ({
      id: String(id),
      from: e.from as ConnectionState | null,
      to: e.to as ConnectionState,
      source: e.source,
      at: e.at,
    }))
    return { events, hasMore: rest.length > query.limit }
  }

  async hasBeenAuthorized(tenantId: string): Promise<boolean> {
    return this.timeline.some((e) => e.tenantId === tenantId && e.to === 'authorized' && !this.purged.has(e))
  }

  async purgeStatusEventsBefore(cutoff: Date): Promise<number> {
    const live = this.timeline.map((e, i) => ({ e, id: i + 1 })).filter(({ e }) => !this.purged.has(e))
    // Each tenant's newest entry to `authorized` stays (same order as listStatusEvents).
    const keep = new Map<string, { e: TimelineEntry; id: number }>()
    for (const entry of live) {
      if (entry.e.to !== 'authorized') continue
      const kept = keep.get(entry.e.tenantId)
      if (!kept || entry.e.at > kept.e.at || (entry.e.at.getTime() === kept.e.at.getTime() && entry.id > kept.id))
        keep.set(entry.e.tenantId, entry)
    }
    let deleted = 0
    for (const entry of live) {
      if (entry.e.at >= cutoff || keep.get(entry.e.tenantId) === entry) continue
      this.purged.add(entry.e)
      deleted++
    }
    return deleted
  }

  async recordWrongNumber(
    tenantId: string,
    input: { actualPhoneMasked: string; at: Date; source: StatusSource },
  ): Promise<StatusUpdateOutcome> {
    const current = this.rows.get(tenantId)
    if (!current) return { outcome: 'missing' }
    if (current.wrongNumber && current.linkExpiresAt === null) return { outcome: 'unchanged', record: { ...current } }
    const next: ConnectionRecord = {
      ...current,
      status: 'notAuthorized',
      isActive: false,
      account: null,
      profileFetchedAt: null,
      linkExpiresAt: null,
      statusCheckedAt: input.at,
      statusChangedAt: current.status === 'notAuthorized' ? current.statusChangedAt : input.at,
      wrongNumber: { expectedPhone: current.expectedPhone ?? '', actualPhoneMasked: input.actualPhoneMasked },
    }
    this.rows.set(tenantId, next)
    this.pictures.delete(tenantId)
    if (current.status !== 'notAuthorized') {
      this.timeline.push({
        tenantId,
        instanceId: current.instanceId,
        from: current.status,
        to: 'notAuthorized',
        source: input.source,
        at: input.at,
      })
    }
    return { outcome: 'changed', previous: { ...current }, record: { ...next } }
  }

  async lastLinkedPhone(tenantId: string): Promise<string | null> {
    return this.lastLinked.get(tenantId) ?? null
  }

  async recordProfile(
    tenantId: string,
    input: { phone: string; name: string | null; picture: ProfilePicture | null; at: Date },
  ): Promise<StatusUpdateOutcome> {
    const current = this.rows.get(tenantId)
    if (!current) return { outcome: 'missing' }
    if (current.status !== 'authorized' || current.account?.phone !== input.phone)
      return { outcome: 'unchanged', record: { ...current } }
    const account = withProfile(current.account, input)
    const next: ConnectionRecord = { ...current, account, profileFetchedAt: input.at }
    this.rows.set(tenantId, next)
    if (input.picture) this.pictures.set(tenantId, { ...input.picture, bytes: new Uint8Array(input.picture.bytes) })
    else this.pictures.delete(tenantId)
    if (sameAccount(account, current.account)) return { outcome: 'unchanged', record: { ...next } }
    return { outcome: 'changed', previous: { ...current }, record: { ...next } }
  }

  async findProfilePicture(tenantId: string): Promise<ProfilePicture | null> {
    const row = this.rows.get(tenantId)
    const picture = this.pictures.get(tenantId)
    if (!row?.account?.picture || !picture || picture.version !== row.account.picture) return null
    return { ...picture, bytes: new Uint8Array(picture.bytes) }
  }
}
