import type { CrmEvent, EventSink } from '../ports/event-sink'
import type { SendQueueWaker } from '../ports/send-queue'
import type { AuditEntry, AuditLog } from '../ports/audit-log'
import type { Clock } from '../ports/clock'
import type { SecretLocation } from '../ports/credential-vault'
import type { CredentialVault } from '../ports/credential-vault'
import type { IdGenerator } from '../ports/id-generator'
import type { Logger } from '../ports/logger'
import type { RateLimitDecision, RateLimiter } from '../ports/rate-limiter'
import type { SecretGenerator } from '../ports/secret-generator'
import type { StatusPublisher } from '../ports/status-publisher'
import type { ConnectionStatusResult } from '../whatsapp/get-connection-status'
import { CredentialDecryptError } from '../whatsapp/whatsapp.errors'

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  private t: number
  constructor(start: Date | string = '2026-11-25T10:00:00.000Z') {
    this.t = new Date(start).getTime()
  }
  now(): Date {
    return new Date(this.t)
  }
  advance(ms: number): void {
    this.t += ms
  }
  set(date: Date | string): void {
    this.t = new Date(date).getTime()
  }
}

export class InMemoryAuditLog implements AuditLog {
  readonly entries: AuditEntry[] = []
  async append(entry: AuditEntry): Promise<void> {
    this.entries.push(structuredClone(entry))
  }
  actions(): string[] {
    return this.entries.map((e) => `${e.action}:${e.outcome}`)
  }
}

/** Sliding windows, like the SQL adapter: accepted hit times per key; refused hits not kept. */
export class InMemoryRateLimiter implements RateLimiter {
  private readonly accepted = new Map<string, number[]>()
  constructor(private readonly clock: Clock) {}
  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision> {
    const now = this.clock.now().getTime()
    const recent = (this.accepted.get(key) ?? []).filter((t) => t > now - windowSeconds * 1000)
    const allowed = recent.length < limit
    this.accepted.set(key, allowed ? [...recent, now] : recent)
    const oldest = recent[0] ?? now
    return { allowed, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((oldest + windowSeconds * 1000 - now) / 1000)) }
  }
}

/** Records every emitted CRM event, in order. */
export class RecordingEventSink implements EventSink {
  readonly emitted: Array<{ tenantId: string } & CrmEvent> = []
  async emit(tenantId: string, event: CrmEvent): Promise<void> {
    this.emitted.push({ tenantId, ...structuredClone(event) })
  }
}

/** Records every instance whose send queue was woken. */
export class RecordingSendQueueWaker implements SendQueueWaker {
  readonly woken: string[] = []
  failNext = false
  async wake(instanceId: string): Promise<void> {
    if (this.failNext) {
      this.failNext = false
      throw new Error('job queue unavailable')
    }
    this.woken.push(instanceId)
  }
}

export class InMemoryStatusPublisher implements StatusPublisher {
  readonly published: Array<{ tenantId: string } & ConnectionStatusResult> = []
  failNext = false
  async publish(tenantId: string, status: ConnectionStatusResult): Promise<void> {
    if (this.failNext) {
      this.failNext = false
      throw new Error('notify failed')
    }
    this.published.push({ tenantId, ...structuredClone(status) })
  }
}

/** Deterministic tokens (`tok-1`, `tok-2`, …) and a length-independent equality loop. */
export class FakeSecretGenerator implements SecretGenerator {
  private n = 0
  randomToken(): string {
    this.n++
    return `tok-${this.n}-${'x'.repeat(32)}`
  }
  safeEqual(a: string, b: string): boolean {
    let diff = a.length ^ b.length
    for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0)
    return diff === 0
  }
}

export class SequenceIdGenerator implements IdGenerator {
  private n = 0
  newId(): string {
    this.n++
    return `00000000-0000-4000-8000-${String(this.n).padStart(12, '0')}`
  }
}

export class RecordingLogger implements Logger {
  readonly lines: { level: 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string }[] = []
  info(obj: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'info', obj, msg })
  }
  warn(obj: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'warn', obj, msg })
  }
  error(obj: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'error', obj, msg })
  }
  text(): string {
    return JSON.stringify(this.lines)
  }
}

/**
 * Not encryption: a reversible envelope that checks the location like the real AAD does, so
 * tests catch a secret read from the wrong tenant/table/column. Plaintext is hex-encoded so a
 * test can assert that no secret appears verbatim anywhere.
 */
export class FakeVault implements CredentialVault {
  encrypt(plaintext: string, at: SecretLocation): string {
    const hex = Array.from(new TextEncoder().encode(plaintext), (b) => b.toString(16).padStart(2, '0')).join('')
    return `v1.test.${at.tenantId}|${at.table}|${at.column}|${hex}`
  }
  decrypt(envelope: string, at: SecretLocation): string {
    const prefix = `v1.test.${at.tenantId}|${at.table}|${at.column}|`
    if (!envelope.startsWith(prefix)) throw new CredentialDecryptError()
    const hex = envelope.slice(prefix.length)
    const bytes = new Uint8Array((hex.match(/../g) ?? []).map((h) => parseInt(h, 16)))
    return new TextDecoder().decode(bytes)
  }
  needsReencryption(): boolean {
    return false
  }
  currentKeyId(): string {
    return 'test'
  }
}
