import { describe, expect, it } from 'vitest'
import { addMember, createTenant, createUser } from '../factories'
import { appToken } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'

/**
 * Chaos matrix (docs/security.md#green-api-failures): every Green-API failure mode the simulator can
 * produce × every operation that reaches Green-API. Each case runs on its own tenant and its own
 * simulator instance (faults are scoped to that instance), so cases run concurrently without
 * sharing a breaker, a pacing window or a per-tenant rate limit.
 *
 * Every case checks: no HTTP 500; the expected envelope (503/502 UPSTREAM_UNAVAILABLE with
 * Retry-After, or for status a 200 answered from stored state marked stale); no row changed
 * that should not be; recovery once the fault is cleared.
 *
 * Deadlines and the breaker's half-open delay are shortened through env so the matrix is fast.
 */
const DEADLINE_MS = 1_500
const h = useWaApp({
  instances: 64,
  // The cases run concurrently, each clearing its own instance's faults (see the matrix below).
  resetAfterEach: false,
  env: {
    GREENAPI_TIMEOUT_MS: String(DEADLINE_MS),
    GREENAPI_QR_TIMEOUT_MS: String(DEADLINE_MS),
    GREENAPI_BREAKER_HALF_OPEN_MS: '400',
    // Connected instances are reconciled in the background every 2 s (not 60), so a status
    // case sees the refresher fail under its fault and recover once it clears.
    WA_RECONCILE_INTERVAL_SECONDS: '2',
  },
})

type Op = 'generate' | 'status' | 'pairing' | 'test' | 'disconnect'
type FaultName =
  | 'timeout'
  | 'reset'
  | 'http500'
  | 'http502'
  | 'http429RetryAfter'
  | 'http429'
  | 'quota466'
  | 'malformedJson'
  | 'wrongShape'
  | 'nullState'
  | 'slowWithinDeadline'

const FAULTS: Record<FaultName, (instanceId: string) => void> = {
  timeout: (id) => void h.sim.fault({ instanceId: id }).slow(DEADLINE_MS * 2),
  reset: (id) => void h.sim.fault({ instanceId: id }).reset(),
  http500: (id) => void h.sim.fault({ instanceId: id }).down(500),
  http502: (id) => void h.sim.fault({ instanceId: id }).down(502),
  http429RetryAfter: (id) => void h.sim.fault({ instanceId: id }).rateLimited(30),
  http429: (id) => void h.sim.fault({ instanceId: id }).rateLimited(),
  quota466: (id) => void h.sim.fault({ instanceId: id }).quota466(),
  malformedJson: (id) => void h.sim.fault({ instanceId: id }).garbage(),
  wrongShape: (id) => void h.sim.fault({ instanceId: id }).wrongShape(),
  nullState: (id) => void h.sim.fault({ instanceId: id }).nullState(),
  slowWithinDeadline: (id) => void h.sim.fault({ instanceId: id }).slow(150),
}
const FAULT_NAMES = Object.keys(FAULTS) as FaultName[]

interface CaseTenant {
  tenantId: string
  token: string
  instanceId: string
  phone: string
}

let phoneSeq = 0
const nextPhone = () => `+3361200${String(1000 + phoneSeq++).padStart(4, '0')}`

async function call(t: CaseTenant, op: Op): Promise<{ status: number; body: any; retryAfter: string | null }> {
  const base = { token: t.token, tenant: t.tenantId }
  const res =
    op === 'status'
      ? await h.api('/api/wa/qr/status', base)
      : op === 'generate'
        ? await h.api('/api/wa/qr/generate', { ...base, method: 'POST', json: {} })
        : op === 'pairing'
          ? await h.api('/api/wa/pairing-code', { ...base, method: 'POST', json: { phoneNumber: t.phone } })
          : op === 'test'
            ? await h.api('/api/wa/test', { ...base, method: 'POST', json: {} })
            : await h.api('/api/wa/disconnect', { ...base, method: 'POST', json: {} })
  const text = await res.text()
  let body: any = null
  try {
    body = JSON.parse(text)
  } catch {
    body = text
  }
  return { status: res.status, body, retryAfter: res.headers.get('retry-after') }
}

/** A tenant with WhatsApp on, an owner token, a claimed instance; `authorized` links the phone. */
async function prepareTenant(authorized: boolean): Promise<CaseTenant> {
  const tenant = await createTenant({ whatsappEnabled: true })
  const user = await createUser()
  await addMember(tenant, user, 'owner')
  const t: CaseTenant = {
    tenantId: tenant.id,
    token: await appToken(testDb(), { sub: user.id, tenant_id: tenant.id }),
    instanceId: '',
    phone: nextPhone(),
  }
  const gen = await call(t, 'generate')
  if (gen.status !== 200) throw new Error(`setup generate failed: ${gen.status} ${JSON.stringify(gen.body)}`)
  const row = await testDb()
    .selectFrom('tenant_provider_configs')
    .select('instance_id')
    .where('tenant_id', '=', t.tenantId)
    .executeTakeFirstOrThrow()
  t.instanceId = row.instance_id
  if (authorized) {
    h.sim.authorize(t.instanceId, t.phone)
    await h.sim.flushWebhooks()
    await eventually(async () => {
      const r = await testDb()
        .selectFrom('tenant_provider_configs')
        .select('connection_status')
        .where('tenant_id', '=', t.tenantId)
        .executeTakeFirstOrThrow()
      expect(r.connection_status).toBe('authorized')
    })
  }
  return t
}

/** The fields a failed call must not move (link timestamps may restart: decision 072). */
async function snapshot(t: CaseTenant) {
  const db = testDb()
  const row = await db
    .selectFrom('tenant_provider_configs')
    .select(['connection_status', 'is_active', 'phone_number', 'instance_id', 'status_checked_at'])
    .where('tenant_id', '=', t.tenantId)
    .executeTakeFirst()
  const claim = await db.selectFrom('wa_instances').select(['id', 'tenant_id']).where('tenant_id', '=', t.tenantId).execute()
  const events = await db.selectFrom('wa_status_events').select('id').where('tenant_id', '=', t.tenantId).execute()
  return { row: row ?? null, claim, events: events.length }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Retries `op` politely (honouring Retry-After, capped) until `done` accepts the answer. */
async function recover(t: CaseTenant, op: Op, done: (r: Awaited<ReturnType<typeof call>>) => boolean, attempts = 6) {
  let last: Awaited<ReturnType<typeof call>> | undefined
  for (let i = 0; i < attempts; i++) {
    last = await call(t, op)
    if (last.status === 500) return last
    if (done(last)) return last
    const wait = Math.min(1_200, Math.max(150, Number(last.retryAfter ?? '0.3') * 1000))
    await sleep(wait)
  }
  return last!
}

const isUpstreamEnvelope = (r: { status: number; body: any; retryAfter: string | null }) =>
  (r.status === 503 || r.status === 502) &&
  r.body?.ok === false &&
  r.body?.error === 'UPSTREAM_UNAVAILABLE' &&
  typeof r.body?.message === 'string' &&
  Number(r.retryAfter) >= 1

function same(label: string, a: unknown, b: unknown): string[] {
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${label} changed: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`]
}

/** Rows compared without `status_checked_at` (a failed call may note that it checked). */
const unchecked = (s: Awaited<ReturnType<typeof snapshot>>) => ({ row: { ...s.row, status_checked_at: null }, claim: s.claim })

type Answer = Awaited<ReturnType<typeof call>>

/**
 * The skeleton shared by the operations that act upstream (generate, pairing code, test send):
 * fault → call → the expected answer → the rows and claim unchanged → clear → recovery.
 */
function actsUpstream(
  op: Op,
  opts: {
    succeeded: (r: Answer) => boolean
    recoveryAttempts: number
    underFault?: (fault: FaultName, r: Answer) => string[] | undefined
  },
) {
  return async (fault: FaultName, t: CaseTenant): Promise<string[]> => {
    const errs: string[] = []
    const before = await snapshot(t)
    FAULTS[fault](t.instanceId)
    const r = await call(t, op)
    if (r.status === 500) errs.push('HTTP 500')
    const special = opts.underFault?.(fault, r)
    if (special) errs.push(...special)
    else if (fault === 'slowWithinDeadline') {
      if (r.status !== 200 || !opts.succeeded(r)) errs.push(`expected 200, got ${r.status} ${JSON.stringify(r.body)}`)
    } else if (!isUpstreamEnvelope(r)) {
      errs.push(`expected upstream envelope, got ${r.status} ${JSON.stringify(r.body)} RA=${r.retryAfter}`)
    }
    const after = await snapshot(t)
    errs.push(...same('rows', unchecked(before).row, unchecked(after).row), ...same('claim', before.claim, after.claim))
    h.sim.clearFaults(t.instanceId)
    const rec = await recover(t, op, (x) => x.status === 200, opts.recoveryAttempts)
    if (rec.status !== 200 || !opts.succeeded(rec)) errs.push(`no recovery: ${rec.status} ${JSON.stringify(rec.body)}`)
    return errs
  }
}

async function statusCase(fault: FaultName, t: CaseTenant): Promise<string[]> {
  const errs: string[] = []
  // Make the stored state an hour old: the background refresher reconciles it at once.
  const old = new Date(Date.now() - 3_600_000)
  FAULTS[fault](t.instanceId)
  await testDb()
    .updateTable('tenant_provider_configs')
    .set({ status_checked_at: old })
    .where('tenant_id', '=', t.tenantId)
    .execute()
  const before = await snapshot(t)
  const calls = h.sim.callCount({ instanceId: t.instanceId, method: 'getStateInstance' })
  // Requests never wait for Green-API: wait until the refresher has tried (and, for the
  // harmless faults, stored what it learnt).
  const expectStale = fault !== 'slowWithinDeadline'
  const r = await eventually(async () => {
    expect(h.sim.callCount({ instanceId: t.instanceId, method: 'getStateInstance' })).toBeGreaterThan(calls)
    const x = await call(t, 'status')
    if (!expectStale) expect(x.body?.stale).toBeUndefined()
    return x
  }, 5_000)
  if (r.status !== 200) errs.push(`expected 200, got ${r.status} ${JSON.stringify(r.body)}`)
  if (r.body?.status !== 'authorized' || r.body?.connected !== true)
    errs.push(`expected stored authorized, got ${JSON.stringify(r.body)}`)
  // nullState: Green-API says nothing about the instance, so the old state stays unconfirmed.
  if (expectStale && r.body?.stale !== true) errs.push(`expected stale: true, got ${JSON.stringify(r.body)}`)
  const after = await snapshot(t)
  errs.push(
    ...same('row', unchecked(before).row, unchecked(after).row),
    ...same('claim', before.claim, after.claim),
    ...same('timeline', before.events, after.events),
  )
  if (expectStale) errs.push(...same('status_checked_at', before.row?.status_checked_at, after.row?.status_checked_at))
  h.sim.clearFaults(t.instanceId)
  const rec = await eventually(async () => {
    const x = await call(t, 'status')
    expect(x.status).toBe(200)
    expect(x.body.stale).toBeUndefined()
    expect(new Date(x.body.checkedAt).getTime()).toBeGreaterThan(old.getTime() + 60_000)
    return x
  }, 8_000).catch((e: Error) => ({ status: -1, body: e.message }))
  if (rec.status !== 200 || rec.body?.connected !== true) errs.push(`no recovery: ${JSON.stringify(rec.body)}`)
  return errs
}

async function disconnectCase(fault: FaultName, t: CaseTenant): Promise<string[]> {
  const errs: string[] = []
  FAULTS[fault](t.instanceId)
  const r = await call(t, 'disconnect')
  if (r.status !== 200 || r.body?.ok !== true) errs.push(`expected 200 ok, got ${r.status} ${JSON.stringify(r.body)}`)
  const after = await snapshot(t)
  if (after.row !== null) errs.push('provider row still there')
  if (after.claim.length !== 0) errs.push(`instance still claimed: ${JSON.stringify(after.claim)}`)
  // No provider row anywhere may point at an instance that is not claimed by its tenant.
  const orphans = await testDb()
    .selectFrom('tenant_provider_configs as c')
    .leftJoin('wa_instances as i', 'i.id', 'c.instance_id')
    .select(['c.tenant_id', 'i.tenant_id as claimed_by'])
    .where((eb) => eb.or([eb('i.tenant_id', 'is', null), eb('i.tenant_id', '!=', eb.ref('c.tenant_id'))]))
    .execute()
  if (orphans.length > 0) errs.push(`provider rows without their claim: ${JSON.stringify(orphans)}`)
  h.sim.clearFaults(t.instanceId)
  const again = await call(t, 'disconnect')
  if (again.status !== 200 || again.body?.ok !== true)
    errs.push(`second disconnect: ${again.status} ${JSON.stringify(again.body)}`)
  return errs
}

/** Every operation that reaches Green-API: whether its tenant is linked first, and what each fault must give. */
const OPERATIONS: Array<{ title: string; linked: boolean; check: (fault: FaultName, t: CaseTenant) => Promise<string[]> }> = [
  {
    title: 'generate: 503 UPSTREAM_UNAVAILABLE + Retry-After, claim and state untouched, QR once the fault clears',
    linked: false,
    check: actsUpstream('generate', {
      succeeded: (r) => typeof r.body?.qrCode === 'string',
      recoveryAttempts: 6,
      underFault: (fault, r) =>
        fault === 'http429RetryAfter' && isUpstreamEnvelope(r) && r.retryAfter !== '30'
          ? [`Retry-After ${r.retryAfter} instead of 30`]
          : undefined,
    }),
  },
  {
    title:
      'status: 200 from stored state (stale while the background check fails), nothing written, fresh again once the fault clears',
    linked: true,
    check: statusCase,
  },
  {
    title: 'pairing code: 503 UPSTREAM_UNAVAILABLE + Retry-After, nothing linked, a code once the fault clears',
    linked: false,
    check: actsUpstream('pairing', { succeeded: (r) => typeof r.body?.code === 'string', recoveryAttempts: 3 }),
  },
  {
    title:
      'test send: 503 UPSTREAM_UNAVAILABLE + Retry-After (409 NOT_CONNECTED for a null state), nothing sent, sends once the fault clears',
    linked: true,
    check: actsUpstream('test', {
      succeeded: (r) => typeof r.body?.idMessage === 'string',
      recoveryAttempts: 3,
      // `null` = instance being created upstream: not connected, a typed 409.
      underFault: (fault, r) =>
        fault !== 'nullState'
          ? undefined
          : r.status === 409 && r.body?.error === 'NOT_CONNECTED'
            ? []
            : [`expected 409 NOT_CONNECTED, got ${r.status} ${JSON.stringify(r.body)}`],
    }),
  },
  {
    title: 'disconnect: logout is best effort (200 ok), the row and the claim go together, a second call is ok',
    linked: true,
    check: disconnectCase,
  },
]

// Operations × faults, each case on its own tenant and instance; the cases of one operation run
// concurrently (all eleven: maxConcurrency in vitest.config.ts).
describe.each(OPERATIONS)('chaos matrix: $title', ({ linked, check }) => {
  it.concurrent.each(FAULT_NAMES)('under %s', async (fault) => {
    const t = await prepareTenant(linked)
    try {
      expect(await check(fault, t)).toEqual([])
    } finally {
      h.sim.clearFaults(t.instanceId)
    }
  })
})
