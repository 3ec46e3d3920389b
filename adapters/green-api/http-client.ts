import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  retry,
  type CircuitBreakerPolicy,
  type IBackoff,
  type RetryPolicy,
} from 'cockatiel'
import type { z } from 'zod'
import { DomainError, UpstreamAuthError, UpstreamUnavailableError } from '../../domain/whatsapp'
import { SlidingWindowLimiter } from './rate-limiter'
import { GREEN_API_RATE_LIMITS } from './documented-limits'

/** Metric outcome of one upstream call (or of a call refused before it left the process). */
export type GreenApiOutcome =
  'ok' | 'timeout' | 'http_4xx' | 'http_5xx' | 'rate_limited' | 'garbage' | 'network' | 'breaker_open' | 'auth'

export interface GreenApiCallEvent {
  /** Green-API method name, e.g. `getStateInstance`; partner calls are prefixed `partner.`. */
  method: string
  outcome: GreenApiOutcome
  durationMs: number
}

/** pino-compatible subset. Only method, instanceId, status, duration, outcome are ever logged. */
export interface GreenApiLogger {
  info(obj: Record<string, unknown>, msg?: string): void
  warn(obj: Record<string, unknown>, msg?: string): void
  error(obj: Record<string, unknown>, msg?: string): void
}

export interface GreenApiClientOptions {
  /** Defaults to the global `fetch` (looked up at call time, so MSW can patch it). */
  fetch?: typeof fetch
  /** Deadline of one provider call, retries and waits included. Default 5000 ms. */
  timeoutMs?: number
  /** Deadline for `qr`. Default 10000 ms. */
  qrTimeoutMs?: number
  /** Extra attempts on idempotent reads (getState, getLinkedPhone, qr). Default 2. */
  maxRetries?: number
  /** Base of the jittered exponential backoff between read retries. Default 200 ms. */
  retryBaseDelayMs?: number
  /** Consecutive failures (timeout, 5xx, network, garbage) that open an instance's breaker. Default 5. */
  breakerThreshold?: number
  /** How long an open breaker fails fast before letting a test call through. Default 10000 ms. */
  breakerHalfOpenAfterMs?: number
  /**
   * Client-side per-instance limits in calls per second, by Green-API method. Merged over the
   * documented defaults; `false` disables client-side pacing (e.g. load tests against a fake).
   */
  clientRateLimits?: Partial<Record<string, number>> | false
  logger?: GreenApiLogger
  /** Metrics hook, called once per upstream attempt and once per call refused locally. */
  onCall?: (event: GreenApiCallEvent) => void
  /** Clock for rate limiting and durations (tests). */
  now?: () => number
  /** Source of jitter in [0,1) (tests). */
  random?: () => number
}

/** Green-API documented per-instance limits (requests per second). */
export const DEFAULT_CLIENT_RATE_LIMITS: Readonly<Record<string, number>> = GREEN_API_RATE_LIMITS

export interface CallSpec<T> {
  method: string
  httpMethod: 'GET' | 'POST'
  /** Full URL. Contains the secret: never log it, never put it in an error. */
  url: string
  /** The secret in the URL, only used to scrub any upstream text we quote. */
  secret: string
  /** Safe-to-log identity of the instance (or `partner`). */
  instanceId: string
  /** Breaker / limiter partition, e.g. `${apiUrl}|${instanceId}`. Must not contain the secret. */
  partitionKey: string
  body?: unknown
  idempotent: boolean
  timeoutMs: number
  schema: z.ZodType<T>
  /** Partner API: errors are HTTP 200 + `{code, description}`. Codes listed here are returned as data. */
  partner?: { passThroughCodes?: number[] }
}

const BREAKER_OUTCOMES = new Set<GreenApiOutcome>(['timeout', 'http_5xx', 'network', 'garbage'])
const RETRYABLE_OUTCOMES = new Set<GreenApiOutcome>(['http_5xx', 'network', 'rate_limited'])
/** Keep some of the deadline for the call itself when deciding whether a wait is worth it. */
const MIN_CALL_BUDGET_MS = 100
const DEFAULT_RETRY_AFTER_S = 5
const PACING_WINDOW_MS = 1100
const QUOTA_RETRY_AFTER_S = 3600

/** How a call failed, for callers that must tell "not sent" from "maybe sent" (sendMessage). */
export interface CallFailure {
  outcome: GreenApiOutcome
  status?: number
  /** The network error code (`ECONNREFUSED`, …), when one was given. */
  networkCode?: string
  /** True when the request never left this process (breaker open, client-side pace). */
  local?: boolean
}
const failures = new WeakMap<object, CallFailure>()

/** The failure behind a DomainError thrown by `GreenApiHttpClient.call`, if it was one. */
export function callFailureOf(err: unknown): CallFailure | undefined {
  return typeof err === 'object' && err !== null ? failures.get(err) : undefined
}

/** Internal failure of one attempt. Never leaves this module: converted to a DomainError. */
class AttemptFailure extends Error {
  constructor(
    readonly outcome: GreenApiOutcome,
    readonly detail: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(detail)
    this.name = 'AttemptFailure'
  }
}

export interface BreakerStates {
  closed: number
  open: number
  halfOpen: number
}

interface BreakerEntry {
  policy: CircuitBreakerPolicy
  openedAt: number
}

function sleep(ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    t.unref?.()
  })
}

/** Parses a `Retry-After` header (delta-seconds or HTTP date) into ms. */
export function parseRetryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}

function scrub(text: string, secret: string): string {
  let out = text.replace(/\s+/g, ' ').trim().slice(0, 200)
  if (secret.length > 0) out = out.split(secret).join('***')
  // A URL in an upstream text could carry a token in its path: drop URLs altogether.
  return out.replace(/https?:\/\/\S+/g, '<url>')
}

const PARTNER_ERROR = {
  safeParse(value: unknown): { code: number; description: string } | null {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
    const v = value as Record<string, unknown>
    if (typeof v.code !== 'number') return null
    return { code: v.code, description: typeof v.description === 'string' ? v.description : '' }
  },
}

/**
 * The resilient HTTP engine shared by the instance and partner adapters: deadline per call,
 * client-side pacing, per-partition circuit breaker, retries on idempotent reads, zod parsing,
 * and mapping of every failure to a domain error without the secret.
 */
export class GreenApiHttpClient {
  private readonly fetchImpl: (input: string, init: RequestInit) => Promise<Response>
  readonly timeoutMs: number
  readonly qrTimeoutMs: number
  private readonly maxRetries: number
  private readonly retryBaseDelayMs: number
  private readonly breakerThreshold: number
  private readonly halfOpenAfterMs: number
  private readonly limits: Readonly<Record<string, number>> | null
  private readonly limiter: SlidingWindowLimiter
  private readonly breakers = new Map<string, BreakerEntry>()
  private readonly logger?: GreenApiLogger
  private readonly onCall?: (event: GreenApiCallEvent) => void
  private readonly now: () => number
  private readonly random: () => number

  constructor(opts: GreenApiClientOptions = {}) {
    const injected = opts.fetch
    this.fetchImpl = injected ? (input, init) => injected(input, init) : (input, init) => fetch(input, init)
    this.timeoutMs = opts.timeoutMs ?? 5000
    this.qrTimeoutMs = opts.qrTimeoutMs ?? 10_000
    this.maxRetries = Math.max(0, opts.maxRetries ?? 2)
    this.retryBaseDelayMs = opts.retryBaseDelayMs ?? 200
    this.breakerThreshold = opts.breakerThreshold ?? 5
    this.halfOpenAfterMs = opts.breakerHalfOpenAfterMs ?? 10_000
    this.limits =
      opts.clientRateLimits === false ? null : { ...DEFAULT_CLIENT_RATE_LIMITS, ...definedOnly(opts.clientRateLimits ?? {}) }
    this.now = opts.now ?? Date.now
    this.random = opts.random ?? Math.random
    // 1.1 s rather than 1 s: two requests sent exactly 1 s apart can reach Green-API less than
    // 1 s apart (latency jitter) and the second would get a 429.
    this.limiter = new SlidingWindowLimiter(this.now, PACING_WINDOW_MS)
    if (opts.logger) this.logger = opts.logger
    if (opts.onCall) this.onCall = opts.onCall
  }

  async call<T>(spec: CallSpec<T>): Promise<T> {
    const started = this.now()
    const deadline = started + spec.timeoutMs
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), spec.timeoutMs)
    timer.unref?.()
    try {
      return await this.readRetries(spec, deadline, controller.signal).execute(async () => {
        await this.pace(spec, deadline)
        return this.breakerFor(spec.partitionKey).policy.execute(() => this.attempt(spec, controller.signal))
      })
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        this.emit(spec, 'breaker_open', undefined, this.now())
        const entry = this.breakerFor(spec.partitionKey)
        const remaining = Math.max(0, entry.openedAt + this.halfOpenAfterMs - this.now())
        const open = new UpstreamUnavailableError(
          `Green-API ${spec.method} for instance ${spec.instanceId}: circuit open, failing fast`,
          { retryAfterSeconds: Math.max(1, Math.ceil(remaining / 1000)) },
        )
        failures.set(open, { outcome: 'breaker_open', local: true })
        throw open
      }
      if (err instanceof DomainError) throw err
      if (!(err instanceof AttemptFailure))
        throw this.toDomainError(spec, new AttemptFailure('network', 'unexpected client error'))
      throw this.toDomainError(spec, err)
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * cockatiel's retry for one call: idempotent reads only, on 5xx / network / 429, at most
   * `maxRetries` times. The wait honours Retry-After on a 429 (else about a second) and is a
   * jittered exponential otherwise; a retry whose wait would not leave the call itself
   * `MIN_CALL_BUDGET_MS` before the deadline is not made (the last failure is reported).
   */
  private readRetries(spec: CallSpec<unknown>, deadline: number, signal: AbortSignal): RetryPolicy {
    const maxAttempts = spec.idempotent ? this.maxRetries : 0
    let retries = 0
    let waitMs = 0
    const worthRetrying = (err: Error): boolean => {
      if (!(err instanceof AttemptFailure) || !RETRYABLE_OUTCOMES.has(err.outcome) || signal.aborted || retries >= maxAttempts)
        return false
      waitMs =
        err.outcome === 'rate_limited'
          ? (err.retryAfterMs ?? Math.round(1000 * (1 + this.random() * 0.25)))
          : Math.round(this.retryBaseDelayMs * 2 ** retries * (0.5 + this.random()))
      retries++
      return waitMs <= deadline - this.now() - MIN_CALL_BUDGET_MS
    }
    const backoff: IBackoff<unknown> = {
      get duration() {
        return waitMs
      },
      next: () => backoff,
    }
    // Unreferenced like the call's own timer: a pending retry never keeps the process alive.
    return retry(handleWhen(worthRetrying), { maxAttempts, backoff }).dangerouslyUnref()
  }

  /** Client-side per-instance pacing: wait for a slot if it fits the deadline, else fail fast. */
  private async pace(spec: CallSpec<unknown>, deadline: number): Promise<void> {
    const limit = this.limits?.[spec.method]
    if (limit === undefined || limit <= 0) return
    const maxWait = deadline - this.now() - MIN_CALL_BUDGET_MS
    const wait = this.limiter.reserve(`${spec.partitionKey}|${spec.method}`, limit, Math.max(0, maxWait))
    if (wait === null) {
      this.emit(spec, 'rate_limited', undefined, this.now())
      // Not an AttemptFailure: a local refusal must not be retried nor count for the breaker.
      const refused = new UpstreamUnavailableError(
        `Green-API ${spec.method} for instance ${spec.instanceId}: client-side rate limit (${limit}/s) reached`,
        { retryAfterSeconds: 1 },
      )
      failures.set(refused, { outcome: 'rate_limited', local: true })
      throw refused
    }
    await sleep(wait)
  }

  /** How many per-instance breakers are in each state (for the `greenapi_breakers` gauge). */
  breakerStates(): BreakerStates {
    const states: BreakerStates = { closed: 0, open: 0, halfOpen: 0 }
    for (const { policy } of this.breakers.values()) {
      if (policy.state === CircuitState.Open || policy.state === CircuitState.Isolated) states.open++
      else if (policy.state === CircuitState.HalfOpen) states.halfOpen++
      else states.closed++
    }
    return states
  }

  private breakerFor(key: string): BreakerEntry {
    let entry = this.breakers.get(key)
    if (!entry) {
      const policy = circuitBreaker(
        handleWhen((e) => e instanceof AttemptFailure && BREAKER_OUTCOMES.has(e.outcome)),
        { halfOpenAfter: this.halfOpenAfterMs, breaker: new ConsecutiveBreaker(this.breakerThreshold) },
      )
      const created: BreakerEntry = { policy, openedAt: 0 }
      policy.onBreak(() => {
        created.openedAt = this.now()
      })
      this.breakers.set(key, created)
      entry = created
    }
    return entry
  }

  private async attempt<T>(spec: CallSpec<T>, signal: AbortSignal): Promise<T> {
    const started = this.now()
    const fail = (outcome: GreenApiOutcome, detail: string, status?: number, retryAfterMs?: number): never => {
      this.emit(spec, outcome, status, started)
      throw new AttemptFailure(outcome, detail, status, retryAfterMs)
    }
    if (signal.aborted) fail('timeout', `no answer within ${spec.timeoutMs} ms`)

    const init: RequestInit = {
      method: spec.httpMethod,
      signal,
      // A redirect would replay the secret-bearing path to another host: refuse it.
      redirect: 'error',
      headers: { accept: 'application/json' },
    }
    if (spec.body !== undefined) {
      init.body = JSON.stringify(spec.body)
      init.headers = { accept: 'application/json', 'content-type': 'application/json' }
    }

    let res: Response
    let text: string
    try {
      res = await this.fetchImpl(spec.url, init)
      text = await res.text()
    } catch (err) {
      // The fetch error may mention the URL: keep only a bare error code, never the error itself.
      if (signal.aborted) return fail('timeout', `no answer within ${spec.timeoutMs} ms`)
      return fail('network', `network error${safeCode(err)}`, undefined, undefined)
    }

    const status = res.status
    if (status === 401 || status === 403) return fail('auth', `credentials rejected (HTTP ${status})`, status)
    if (status === 429) {
      return fail(
        'rate_limited',
        'rate limited upstream (HTTP 429)',
        status,
        parseRetryAfterMs(res.headers.get('retry-after'), this.now()),
      )
    }
    if (status === 466) return fail('http_4xx', 'plan quota exceeded (HTTP 466)', status, QUOTA_RETRY_AFTER_S * 1000)
    if (status >= 500) {
      return fail(
        'http_5xx',
        `upstream error (HTTP ${status})`,
        status,
        parseRetryAfterMs(res.headers.get('retry-after'), this.now()),
      )
    }
    if (status >= 400) return fail('http_4xx', `request refused (HTTP ${status}: ${scrub(text, spec.secret)})`, status)
    if (status !== 200) return fail('garbage', `unexpected HTTP ${status}`, status)

    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return fail('garbage', 'response is not JSON', status)
    }

    if (spec.partner) {
      const perr = PARTNER_ERROR.safeParse(json)
      if (perr && !(spec.partner.passThroughCodes ?? []).includes(perr.code)) {
        if (perr.code === 401 || perr.code === 403)
          return fail('auth', `partner credentials rejected (code ${perr.code})`, status)
        if (perr.code === 429) return fail('rate_limited', 'partner rate limited (code 429)', status)
        if (perr.code >= 500) return fail('http_5xx', `partner error (code ${perr.code})`, status)
        return fail('http_4xx', `partner error (code ${perr.code}: ${scrub(perr.description, spec.secret)})`, status)
      }
    }

    const parsed = spec.schema.safeParse(json)
    if (!parsed.success) return fail('garbage', 'response has an unexpected shape', status)
    this.emit(spec, 'ok', status, started)
    return parsed.data
  }

  private toDomainError(spec: CallSpec<unknown>, f: AttemptFailure): DomainError {
    const err = this.domainErrorOf(spec, f)
    const code = /\(([A-Z0-9_]{2,40})\)$/.exec(f.detail)?.[1]
    failures.set(err, {
      outcome: f.outcome,
      ...(f.status === undefined ? {} : { status: f.status }),
      ...(f.outcome === 'network' && code ? { networkCode: code } : {}),
    })
    return err
  }

  private domainErrorOf(spec: CallSpec<unknown>, f: AttemptFailure): DomainError {
    const what = `Green-API ${spec.method} for instance ${spec.instanceId}`
    if (f.outcome === 'auth') return new UpstreamAuthError(`${what}: ${f.detail}`)
    let retryAfterSeconds: number | undefined
    if (f.retryAfterMs !== undefined) retryAfterSeconds = Math.max(1, Math.ceil(f.retryAfterMs / 1000))
    else if (f.outcome === 'rate_limited') retryAfterSeconds = 1
    else if (f.outcome !== 'http_4xx') retryAfterSeconds = DEFAULT_RETRY_AFTER_S
    return new UpstreamUnavailableError(
      `${what} failed: ${f.detail}`,
      retryAfterSeconds === undefined ? {} : { retryAfterSeconds },
    )
  }

  private emit(spec: CallSpec<unknown>, outcome: GreenApiOutcome, status: number | undefined, started: number): void {
    const durationMs = Math.max(0, this.now() - started)
    try {
      this.onCall?.({ method: spec.method, outcome, durationMs })
    } catch {
      // a metrics hook must never break a call
    }
    if (!this.logger) return
    const line = { method: spec.method, instanceId: spec.instanceId, status: status ?? null, durationMs, outcome }
    try {
      if (outcome === 'ok') this.logger.info(line, 'green-api call')
      else this.logger.warn(line, 'green-api call failed')
    } catch {
      // ditto for a logger
    }
  }
}

function definedOnly(rec: Partial<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(rec)) if (typeof v === 'number') out[k] = v
  return out
}

function safeCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause
  const code = cause?.code ?? (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? ` (${code})` : ''
}
