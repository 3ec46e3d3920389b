/**
 * `npm run bench` (docs/benchmarks.md): the status path at scale, from ONE run, as ratios.
 *
 * - PostgreSQL: DATABASE_URL when set, else a throwaway embedded server (temp dir, free port).
 * - The app: tests/bench/bench-server.ts, the built app served as `npm start` serves it in
 *   simulator mode, in a process of its own so its CPU time (process.cpuUsage), heap after a
 *   full GC and RSS are the app's alone; a second one on the same database for the
 *   two-process figures. The Green-API simulator lives in a third process (no load is sent to
 *   it) and is called over HTTP on loopback, as the real service would be; a counter in front
 *   of it counts the calls.
 * - Tenants, owners, memberships and API tokens are seeded directly in the bench database; the
 *   link attempts go through the API (POST /api/wa/qr/generate), phones through the simulator.
 * - Load: autocannon from this process against 127.0.0.1 only, bounded by time or count; the
 *   SSE clients in a process of their own (tests/bench/sse-clients.ts).
 *
 * `--only sse`: the SSE phase alone (one tenant and its streams, beside a bare node:http SSE
 * server as the baseline; no status phases, second process or soak), for work on the event
 * streams; `--streams 2000,10000` sets its counts (default: the mode's).
 *
 * `--quick`: small counts, under a minute (development and the smoke test). Prints one table
 * on stdout, progress on stderr, writes .bench/results.json (gitignored; no tracked file is
 * written) and exits 0; any failure exits 1.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { Kysely, PostgresDialect, sql } from 'kysely'
import { createPgPool } from '../../adapters/postgres/pg-pool'
import { signAppToken } from '../../app/utils/jwt.server'
import { migrateToLatest } from '../../db/migrate'
import type { Database } from '../../db/schema'
import { buildIfNeeded } from '../../server/build'
import { ensureDatabase, startEmbeddedPg } from '../../server/embedded-pg'
import { freePort } from '../utils/free-port'
import { NOOP_PATH, PROBE_PATH, type ProbeReading } from './baselines'
import { runLoad, type LoadResult } from './load'

const root = path.resolve(import.meta.dirname, '../..')
const QUICK = process.argv.includes('--quick')
/**
 * `--status-only`: the full counts of the status phases (four states, rotation, two processes)
 * in one round, without the soak and the SSE runs (≈ 4 min instead of 20).
 */
const STATUS_ONLY = process.argv.includes('--status-only')
const argAfter = (flag: string) => {
  const at = process.argv.indexOf(flag)
  return at >= 0 ? (process.argv[at + 1] ?? '') : undefined
}
const ONLY = argAfter('--only')
if (ONLY !== undefined && ONLY !== 'sse') throw new Error(`--only ${ONLY}: only "sse" is known`)
const ONLY_SSE = ONLY === 'sse'
if (ONLY_SSE && STATUS_ONLY) throw new Error('--only sse and --status-only exclude each other')
const STREAMS = argAfter('--streams')
/**
 * `--heap-snapshots`: each SSE run's app process writes V8 heap snapshots (before the streams
 * open, while open, after close; each after a full GC) to .bench/snapshots/ (gitignored), to
 * compare by constructor (what a stream holds, what survives its close).
 */
const SNAPSHOTS = process.argv.includes('--heap-snapshots') ? path.join(root, '.bench/snapshots') : undefined
/**
 * `--cpu-profile rotation1000,connected`: the primary app process records a V8 CPU profile over
 * each named phase of the first round, written to .bench/profiles/<phase>.cpuprofile (gitignored;
 * open it in Chrome DevTools' Performance panel).
 */
const PROFILED = new Set((argAfter('--cpu-profile') ?? '').split(',').filter(Boolean))
const PROFILE_DIR = path.join(root, '.bench/profiles')
/**
 * `--app-logs`: the app processes log at `warn` (background check failures, pool drops) into
 * .bench/logs/<role>.log (gitignored) instead of `error` lines only into the void.
 */
const APP_LOG_DIR = process.argv.includes('--app-logs') ? path.join(root, '.bench/logs') : undefined
/** `--statements`: after each measured phase, the statements PostgreSQL ran most during it. */
const SHOW_STATEMENTS = process.argv.includes('--statements')
const P = QUICK
  ? {
      stateTenants: 5,
      rotation: [1, 5, 20],
      phaseSec: 1,
      // A quick run proves every phase runs and every row prints (its figures are not the ones
      // that count): short warm-ups, a short soak, one SSE count, so the smoke test
      // (tests/integration/bench-quick.test.ts) costs the suite as little as it can.
      warmup: { amount: 100, maxSec: 0.5 },
      rounds: 1,
      sse: [500],
      fanoutRounds: 1,
      soak: 600,
      soakChunks: 2,
      soakMaxSec: 4,
      idleSec: 0.2,
    }
  : {
      stateTenants: 100,
      rotation: [1, 100, 1000],
      phaseSec: 5,
      warmup: { amount: 2000, maxSec: 10 },
      rounds: 3,
      sse: [2000, 10_000],
      fanoutRounds: 3,
      soak: 200_000,
      soakChunks: 5,
      soakMaxSec: 600,
      idleSec: 5,
    }
if (STATUS_ONLY) Object.assign(P, { rounds: 1, sse: [], soak: 0, soakChunks: 0 })
if (ONLY_SSE) Object.assign(P, { stateTenants: 0, rotation: [0], rounds: 0, soak: 0, soakChunks: 0 })
if (STREAMS !== undefined) {
  const counts = STREAMS.split(',').map(Number)
  if (!ONLY_SSE || counts.some((n) => !Number.isSafeInteger(n) || n < 1))
    throw new Error(`--streams ${STREAMS}: positive counts, comma-separated, with --only sse`)
  P.sse = counts
}
const CONNECTIONS = 50
/** The app's cap on streams per user (SSE_MAX_PER_USER cannot exceed it): streams are spread over users. */
const STREAMS_PER_USER = 1000
const STATUS_PATH = '/api/wa/qr/status'
const STATIC_PATH = '/favicon.svg'
// A quick run never overwrites the last full run's figures.
const RESULTS_FILE = path.join(
  root,
  `.bench/results${QUICK ? '-quick' : ''}${STATUS_ONLY ? '-status' : ''}${ONLY_SSE ? '-sse' : ''}.json`,
)

const benchStart = Date.now()
const log = (line: string) => process.stderr.write(`[bench +${Math.round((Date.now() - benchStart) / 1000)}s] ${line}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const mb = (bytes: number) => bytes / 1024 / 1024
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const chunks = <T>(xs: T[], n: number): T[][] =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n))

/** Runs `fn` over `items`, `concurrency` at a time. */
async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i]!, i)
      }
    }),
  )
  return out
}

/** Polls `check` until it is true, within `ms`; a clear error otherwise. */
async function until(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`)
    await sleep(100)
  }
}

// ------------------------------------------------------------------ app processes

interface AppProcess {
  base: string
  pid: number
  /** With `snapshot` (after `--heap-snapshots`), the process also writes a heap snapshot of that name. */
  probe(gc?: boolean, snapshot?: string, stateChecks?: boolean): Promise<ProbeReading>
  /** `start`, then a phase's name: its CPU profile (after `--cpu-profile`, primary only). */
  profile(name: string): Promise<void>
  stop(): Promise<void>
}

/**
 * An app process (tests/bench/bench-server.ts), or with `baseline` the bare node:http SSE server
 * (tests/bench/sse-baseline-server.ts) that answers the same probe, stream and state-change calls.
 */
async function startAppProcess(
  role: 'simulator' | 'primary' | 'secondary' | 'baseline',
  env: Record<string, string>,
): Promise<AppProcess> {
  const port = await freePort()
  const script = role === 'baseline' ? 'tests/bench/sse-baseline-server.ts' : 'tests/bench/bench-server.ts'
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
    cwd: root,
    env: {
      ...process.env,
      ...env,
      BENCH_PORT: String(port),
      BENCH_ROLE: role,
      ...(SNAPSHOTS ? { BENCH_SNAPSHOT_DIR: path.join(SNAPSHOTS, role) } : {}),
      ...(PROFILED.size > 0 && role === 'primary' ? { BENCH_PROFILE_DIR: PROFILE_DIR } : {}),
      ...(APP_LOG_DIR ? { LOG_LEVEL: 'warn' } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (c) => (stderr = (stderr + String(c)).slice(-4000)))
  if (APP_LOG_DIR) {
    fs.mkdirSync(APP_LOG_DIR, { recursive: true })
    const file = fs.createWriteStream(path.join(APP_LOG_DIR, `${role}.log`))
    child.stdout!.pipe(file)
    child.stderr!.pipe(file)
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} app process did not start within 120 s: ${stderr}`)), 120_000)
    child.once('exit', (code) => reject(new Error(`${role} app process exited (${code}): ${stderr}`)))
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('ready ')) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  const base = `http://127.0.0.1:${port}`
  return {
    base,
    pid: child.pid!,
    async probe(gc = false, snapshot?: string, checks = false) {
      const query = new URLSearchParams({
        ...(gc ? { gc: '1' } : {}),
        ...(snapshot && SNAPSHOTS ? { snapshot } : {}),
        ...(checks ? { checks: '1' } : {}),
      })
      const res = await fetch(`${base}${PROBE_PATH}${query.size ? `?${query}` : ''}`)
      if (!res.ok) throw new Error(`probe: HTTP ${res.status}`)
      return (await res.json()) as ProbeReading
    },
    async profile(name: string) {
      const res = await fetch(`${base}/bench/profile?name=${encodeURIComponent(name)}`, { method: 'POST' })
      if (!res.ok) throw new Error(`profile ${name}: HTTP ${res.status}`)
      if (name !== 'start') log(`CPU profile: ${path.relative(root, path.join(PROFILE_DIR, `${name}.cpuprofile`))}`)
    },
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(10_000)])
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}

// ------------------------------------------------------------------ measurement

interface Measured extends LoadResult {
  /** App CPU time per request (all app processes of the phase), in ms. */
  cpuMsPerReq: number
  /** Green-API calls per instance per second for the tenants polled, over the phase. */
  upstreamPerInstancePerSec: number
  /** SQL statements PostgreSQL ran per request over the phase (background work included); NaN unless counted. */
  queriesPerReq: number
}

/**
 * Statements PostgreSQL has run so far, by text (pg_stat_statements, loaded into the bench's own
 * embedded server only; undefined against an outside DATABASE_URL).
 */
let statementCounts: (() => Promise<Map<string, number>>) | undefined

async function measure(
  apps: AppProcess[],
  targets: Array<{ url: string; tokens?: string[] }>,
  instanceIds: string[],
  bound: { durationSec?: number; amount?: number },
  simulator: AppProcess,
): Promise<Measured> {
  const before = await Promise.all(apps.map((a) => a.probe()))
  const upstreamBefore = await simulator.probe()
  const statementsBefore = await statementCounts?.()
  const t0 = performance.now()
  const loads = await Promise.all(
    targets.map((t) =>
      runLoad({
        url: t.url,
        connections: Math.round(CONNECTIONS / targets.length),
        ...bound,
        ...(t.tokens ? { tokens: t.tokens } : {}),
      }),
    ),
  )
  const seconds = (performance.now() - t0) / 1000
  const after = await Promise.all(apps.map((a) => a.probe()))
  const upstreamAfter = await simulator.probe()
  const statementsAfter = await statementCounts?.()
  const total = loads.reduce((n, l) => n + l.total, 0)
  let queries = Number.NaN
  if (statementsBefore && statementsAfter) {
    queries = 0
    const grew: Array<[string, number]> = []
    for (const [sql, n] of statementsAfter) {
      const more = n - (statementsBefore.get(sql) ?? 0)
      queries += more
      if (more > 0) grew.push([sql, more])
    }
    if (SHOW_STATEMENTS)
      for (const [sql, n] of grew.sort((a, b) => b[1] - a[1]).slice(0, 8))
        log(`  ${(n / Math.max(1, total)).toFixed(3)}/req ${sql.replace(/\s+/g, ' ').slice(0, 160)}`)
  }
  const cpuMicros = after.reduce((n, a, i) => n + a.cpuMicros - before[i]!.cpuMicros, 0)
  // The counter is the simulator's process's.
  const calls = instanceIds.reduce((n, id) => n + (upstreamAfter.upstream[id] ?? 0) - (upstreamBefore.upstream[id] ?? 0), 0)
  const codes: Record<string, number> = {}
  for (const l of loads) for (const [k, v] of Object.entries(l.codes)) codes[k] = (codes[k] ?? 0) + v
  return {
    rps: loads.reduce((n, l) => n + l.rps, 0),
    total,
    p50: Math.max(...loads.map((l) => l.p50)),
    p99: Math.max(...loads.map((l) => l.p99)),
    errors: loads.reduce((n, l) => n + l.errors, 0),
    non2xx: loads.reduce((n, l) => n + l.non2xx, 0),
    codes,
    cpuMsPerReq: cpuMicros / 1000 / Math.max(1, total),
    upstreamPerInstancePerSec: instanceIds.length === 0 ? 0 : calls / instanceIds.length / seconds,
    queriesPerReq: queries / Math.max(1, total),
  }
}

/** Green-API calls so far for these instances (the counter lives in the primary). */
function connectedCalls(reading: ProbeReading, instanceIds: string[]): number {
  return instanceIds.reduce((n, id) => n + (reading.upstream[id] ?? 0), 0)
}

/** Reconcile interval of the bench's app processes (the default). */
const RECONCILE_SECONDS = 60

/** Where a span of upstream counting starts (`upstreamSpan`). */
async function spanFrom(simulator: AppProcess, instanceIds: string[]) {
  const reading = await simulator.probe()
  return {
    at: performance.now(),
    wall: Date.now(),
    calls: connectedCalls(reading, instanceIds),
  }
}

/**
 * Green-API calls for the connected instances since `start`, over at least 1.5 reconcile
 * intervals (waits the rest, the refreshers running meanwhile; a wave of 1000 reconciles comes
 * back every 60–70 s, so a shorter span may hold none): calls per instance per minute, how many
 * of them state checks, and the figure the target is about — the shortest time between two
 * state checks of one instance (a wave may fall twice into a span; two checks of one instance
 * less than an interval apart never should).
 */
async function upstreamSpan(simulator: AppProcess, instanceIds: string[], start: Awaited<ReturnType<typeof spanFrom>>) {
  // A quick run (smoke test) does not wait: its figure is only printed.
  const minMs = QUICK ? 0 : 1.5 * RECONCILE_SECONDS * 1000
  const waited = performance.now() - start.at
  if (waited < minMs) {
    log(`counting reconciles over a whole interval: ${Math.ceil((minMs - waited) / 1000)} s more…`)
    await sleep(minMs - waited)
  }
  const reading = await simulator.probe(false, undefined, true)
  const calls = connectedCalls(reading, instanceIds) - start.calls
  const seconds = (performance.now() - start.at) / 1000
  const perMin = (n: number) => (instanceIds.length ? (n / instanceIds.length / seconds) * 60 : 0)
  let stateChecks = 0
  let shortestGapSec = Number.POSITIVE_INFINITY
  for (const id of instanceIds) {
    const times = reading.stateChecks?.[id] ?? []
    for (let i = 0; i < times.length; i++) {
      if (times[i]! < start.wall) continue
      stateChecks++
      if (i > 0) shortestGapSec = Math.min(shortestGapSec, (times[i]! - times[i - 1]!) / 1000)
    }
  }
  return { seconds, perMin: perMin(calls), stateChecksPerMin: perMin(stateChecks), shortestGapSec }
}

/** Opens `streams` SSE streams from a client process; fan-out rounds; closes them. */
/** A client process (tests/bench/sse-clients.ts) opening `streams` streams, and its command line. */
function sseClients(app: AppProcess, tokens: string[], streams: number) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'tests/bench/sse-clients.ts',
      JSON.stringify({ port: Number(new URL(app.base).port), path: '/api/wa/events', tokens, streams, concurrency: 200 }),
    ],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  // Opening 10 000 streams on a busy machine takes minutes: the first answer may be longer coming.
  const answer = async <T>(command?: string): Promise<T> => {
    if (command) child.stdin!.write(`${command}\n`)
    const next = await Promise.race([lines.next(), sleep(command ? 180_000 : 600_000).then(() => null)])
    if (!next || next.done) throw new Error(`SSE clients did not answer ${command ?? 'open'}`)
    return JSON.parse(next.value) as T
  }
  return { answer, kill: () => child.exitCode === null && child.kill('SIGKILL') }
}

/**
 * Opens `streams` SSE streams from a client process; fan-out rounds; closes them; then opens
 * and closes as many again, so that what the first cycle leaves for good (JIT code, Node's
 * parser pool) is told apart from what each cycle would leave (a leak).
 */
async function sseRun(app: AppProcess, changer: AppProcess, tokens: string[], instanceId: string, streams: number) {
  const base = await app.probe(true, `${streams}-before`)
  const clients = sseClients(app, tokens, streams)
  const { answer } = clients
  try {
    const opened = await answer<{ opened: number; failed: Record<string, number> }>()
    const open = await app.probe(true, `${streams}-open`)
    const fanouts: Array<{ received: number; of: number; min: number; p50: number; p99: number; max: number }> = []
    // The app's CPU time per status change, from the request to the last receipt: what the
    // fan-out costs the process, whatever share of the cores it got meanwhile.
    const cpuMicros: number[] = []
    for (let round = 0; round < P.fanoutRounds * 2; round++) {
      // Back and forth between two visible states, each change a webhook from the simulator.
      const state = round % 2 === 0 ? 'sleepMode' : 'authorized'
      await answer(`arm ${state}`)
      const cpuBefore = (await app.probe()).cpuMicros
      const res = await fetch(`${changer.base}/bench/sim`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instanceIds: [instanceId], state }),
      })
      if (!res.ok) throw new Error(`state change: HTTP ${res.status} ${await res.text()}`)
      const { at } = (await res.json()) as { at: number }
      fanouts.push(await answer(`collect ${at} 15000`))
      cpuMicros.push((await app.probe()).cpuMicros - cpuBefore)
    }
    await answer('close')
    await until('streams released after close', 30_000, async () => (await app.probe()).sseOpen === 0)
    const closed = await app.probe(true, `${streams}-closed`)
    const again = sseClients(app, tokens, streams)
    try {
      await again.answer()
      await again.answer('close')
    } finally {
      again.kill()
    }
    await until('streams released after the second close', 30_000, async () => (await app.probe()).sseOpen === 0)
    const closedAgain = await app.probe(true, `${streams}-closed-again`)
    return {
      streams,
      opened: opened.opened,
      failed: opened.failed,
      heapBeforeMb: mb(base.heapUsed),
      heapOpenMb: mb(open.heapUsed),
      heapAfterCloseMb: mb(closed.heapUsed),
      heapAfterSecondCloseMb: mb(closedAgain.heapUsed),
      rssOpenMb: mb(open.rss),
      kbPerStream: opened.opened ? (open.heapUsed - base.heapUsed) / 1024 / opened.opened : NaN,
      fanout: {
        received: fanouts.reduce((n, f) => n + f.received, 0),
        expected: fanouts.reduce((n, f) => n + f.of, 0),
        // Over the rounds: the median round's first receipt and p50, the worst round's p99.
        first: median(fanouts.map((f) => f.min)),
        p50: median(fanouts.map((f) => f.p50)),
        p99: Math.max(...fanouts.map((f) => f.p99)),
        cpuMs: median(cpuMicros) / 1000,
      },
    }
  } finally {
    clients.kill()
  }
}

/** The SSE runs at each count of the mode, on one app process (one tenant, streams spread over its users). */
async function ssePhase(app: AppProcess, simulator: AppProcess, tokens: string[], instanceId: string) {
  const runs = []
  for (const n of P.sse) {
    log(
      `${n} SSE streams on one process (spread over ${Math.ceil(n / STREAMS_PER_USER)} users), ${P.fanoutRounds * 2} status changes…`,
    )
    runs.push(await sseRun(app, simulator, tokens.slice(0, Math.ceil(n / STREAMS_PER_USER)), instanceId, n))
  }
  return runs
}

type SseRun = Awaited<ReturnType<typeof sseRun>>

// ------------------------------------------------------------------ report

type Row = [figure: string, value: string, target: string, met: string]
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '-')
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-')
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-')
const f3 = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : '-')
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED')

/** The SSE rows; with `baseline` (same counts on the bare node:http server), ours as ratios to it. */
function sseRows(table: Row[], sse: SseRun[], baseline: SseRun[] = []): void {
  const row = (figure: string, value: string, target = '', met = '') => table.push([figure, value, target, met])
  for (const s of sse) {
    const bare = baseline.find((b) => b.streams === s.streams)
    const failed = Object.entries(s.failed)
      .map(([k, v]) => `${v} x ${k}`)
      .join(', ')
    row(
      `${s.streams} SSE streams: opened`,
      `${s.opened} / ${s.streams}${failed ? ` (refused: ${failed})` : ''}`,
      `${s.streams}`,
      verdict(s.opened === s.streams),
    )
    row(
      `${s.streams} SSE streams: heap per stream after GC`,
      `${f1(s.kbPerStream)} KB (heap ${f1(s.heapBeforeMb)} -> ${f1(s.heapOpenMb)} MB, RSS open ${f0(s.rssOpenMb)} MB)`,
      '<= 10 KB',
      verdict(s.kbPerStream <= 10),
    )
    if (bare)
      row(
        `${s.streams} SSE streams: bare node:http, heap per stream`,
        `${f1(bare.kbPerStream)} KB (${bare.opened} opened); ours ${f2(s.kbPerStream / bare.kbPerStream)}x`,
        '(what Node costs)',
        '',
      )
    row(
      `${s.streams} SSE streams: fan-out of a status change`,
      `first ${f0(s.fanout.first)} ms, p50 ${f0(s.fanout.p50)} ms, p99 ${f0(s.fanout.p99)} ms (${s.fanout.received} / ${s.fanout.expected} received); app CPU ${f1(s.fanout.cpuMs)} ms per change`,
      'p99 < 100 ms',
      verdict(s.fanout.p99 < 100 && s.fanout.received === s.fanout.expected),
    )
    if (bare)
      row(
        `${s.streams} SSE streams: bare node:http, fan-out`,
        `first ${f0(bare.fanout.first)} ms, p50 ${f0(bare.fanout.p50)} ms, p99 ${f0(bare.fanout.p99)} ms (${bare.fanout.received} / ${bare.fanout.expected} received); CPU ${f1(bare.fanout.cpuMs)} ms per change, ours ${f2(s.fanout.cpuMs / bare.fanout.cpuMs)}x`,
        '(the clients and the machine)',
        '',
      )
    const signed = (mbs: number) => `${mbs >= 0 ? '+' : ''}${f2(mbs)} MB`
    const delta = s.heapAfterCloseMb - s.heapBeforeMb
    row(
      `${s.streams} SSE streams: heap after close and GC`,
      `${f1(s.heapAfterCloseMb)} MB (before: ${f1(s.heapBeforeMb)} MB, ${signed(delta)}${bare ? `; bare node:http ${signed(bare.heapAfterCloseMb - bare.heapBeforeMb)}` : ''})`,
      'back to before',
      verdict(delta < 2),
    )
    // What a second open/close cycle of as many streams leaves: zero but for noise, or a leak.
    const cycle = s.heapAfterSecondCloseMb - s.heapAfterCloseMb
    row(
      `${s.streams} SSE streams: heap left by a second open/close cycle`,
      `${signed(cycle)} (${f1(s.heapAfterCloseMb)} -> ${f1(s.heapAfterSecondCloseMb)} MB)`,
      `< 1 KB per stream`,
      verdict(cycle * 1024 < s.streams),
    )
  }
}

/** Prints the table on stdout and writes it, with `figures`, to RESULTS_FILE (gitignored). */
function report(table: Row[], mode: string, started: number, figures: Record<string, unknown>): void {
  const cpu = os.cpus()
  const machine = `${cpu.length} x ${cpu[0]?.model.trim() ?? 'cpu'}, ${Math.round(mb(os.totalmem()))} MB RAM, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, Node ${process.version}, ${os.platform()} ${os.release()}`
  const widths = [0, 1, 2, 3].map((c) => Math.max(...[['figure', 'value', 'target', ''], ...table].map((r) => r[c]!.length)))
  const line = (r: string[]) => `| ${r.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`
  const text = [
    line(['figure', 'value', 'target', '']),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...table.map(line),
  ].join('\n')
  process.stdout.write(`\nWhatsApp Pro bench (${mode}) — ${new Date().toISOString()}\nmachine: ${machine}\n`)
  process.stdout.write(
    ONLY_SSE
      ? `${P.fanoutRounds * 2} status changes per count; heap = the process's heapUsed after a full GC\n\n${text}\n\n`
      : `medians of ${P.rounds} interleaved round(s), ${CONNECTIONS} connections, ${P.phaseSec} s per phase; CPU = app process time (user + system) per request\n\n${text}\n\n`,
  )
  process.stdout.write(`whole bench ${f0((Date.now() - started) / 1000)} s; figures in ${path.relative(root, RESULTS_FILE)}\n`)
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true })
  fs.writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify({ at: new Date().toISOString(), machine, mode, params: P, connections: CONNECTIONS, ...figures, table }, null, 2)}\n`,
  )
}

// ------------------------------------------------------------------ main

async function main() {
  const started = Date.now()
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-bench-'))
  const cleanups: Array<() => Promise<void>> = []
  try {
    let databaseUrl = process.env.DATABASE_URL
    /** The bench's own embedded server loads pg_stat_statements; an outside DATABASE_URL may not. */
    let countStatements = false
    if (!databaseUrl) {
      log('starting a throwaway embedded PostgreSQL…')
      const pg = await startEmbeddedPg({
        dataDir: path.join(tmp, 'pg'),
        port: await freePort(),
        password: randomBytes(12).toString('base64url'),
        flags: [
          ...['-c', 'max_connections=300', '-c', 'fsync=off', '-c', 'synchronous_commit=off'],
          // Statements per request, beside CPU per request: what a phase asks of PostgreSQL.
          ...['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all'],
        ],
        log: () => {},
      })
      cleanups.push(() => pg.stop())
      await ensureDatabase(pg.serverUrl, 'wa_bench')
      databaseUrl = pg.databaseUrl('wa_bench')
      countStatements = true
    }
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: createPgPool({ connectionString: databaseUrl, max: 4 }) }),
    })
    cleanups.push(() => db.destroy())
    await migrateToLatest(db, databaseUrl)
    if (countStatements) {
      await sql`create extension if not exists pg_stat_statements`.execute(db)
      statementCounts = async () => {
        const { rows } = await sql<{ query: string; calls: string }>`
          select query, sum(calls)::text as calls from pg_stat_statements
          where query not like '%pg_stat_statements%' group by query`.execute(db)
        return new Map(rows.map((r) => [r.query, Number(r.calls)]))
      }
    }
    await buildIfNeeded((line) => log(line))

    // ---------------------------------------------------------------- tenants
    const connectedCount = Math.max(...P.rotation)
    const sseUsers = Math.max(1, Math.ceil(Math.max(...P.sse) / STREAMS_PER_USER))
    const run = randomBytes(3).toString('hex')
    const jwtSecret = `bench-${randomBytes(24).toString('base64url')}`
    const groups = {
      connected: Array.from({ length: connectedCount }, (_, i) => `bench-${run}-c${i}`),
      live: Array.from({ length: P.stateTenants }, (_, i) => `bench-${run}-l${i}`),
      expired: Array.from({ length: P.stateTenants }, (_, i) => `bench-${run}-e${i}`),
      notLinked: Array.from({ length: P.stateTenants }, (_, i) => `bench-${run}-n${i}`),
      sse: [`bench-${run}-sse`],
    }
    const allTenants = Object.values(groups).flat()
    log(
      `seeding ${allTenants.length} tenants, their owners, memberships and API tokens (${sseUsers} members for the SSE tenant)…`,
    )
    const owners = allTenants.flatMap((tenantId) =>
      Array.from({ length: tenantId === groups.sse[0] ? sseUsers : 1 }, (_, u) => ({
        tenantId,
        id: randomUUID(),
        email: `user${u}@${tenantId}.bench.test`,
      })),
    )
    const tokenOf = new Map<string, string[]>()
    const minted = await Promise.all(
      owners.map(async (o) => ({
        o,
        t: await signAppToken(
          { JWT_SECRET: jwtSecret },
          { userId: o.id, tenantId: o.tenantId, ttlSeconds: 4 * 3600, jti: randomUUID() },
        ),
      })),
    )
    for (const part of chunks(allTenants, 500)) {
      await db
        .insertInto('tenants')
        .values(part.map((id) => ({ id, name: id })))
        .execute()
      await db
        .insertInto('tenant_features')
        .values(part.map((id) => ({ tenant_id: id, whatsapp_enabled: true, sms_enabled: true, email_enabled: true })))
        .execute()
    }
    for (const part of chunks(minted, 500)) {
      await db
        .insertInto('users')
        .values(part.map(({ o }) => ({ id: o.id, email: o.email, name: o.email, password_hash: null })))
        .execute()
      await db
        .insertInto('memberships')
        .values(part.map(({ o }) => ({ tenant_id: o.tenantId, user_id: o.id, role: 'owner' as const })))
        .execute()
      await db
        .insertInto('api_tokens')
        .values(
          part.map(({ o, t }) => ({ jti: t.jti, tenant_id: o.tenantId, user_id: o.id, name: 'bench', expires_at: t.expiresAt })),
        )
        .execute()
    }
    for (const { o, t } of minted) tokenOf.set(o.tenantId, [...(tokenOf.get(o.tenantId) ?? []), t.token])
    const tokens = (ids: string[]) => ids.map((id) => tokenOf.get(id)![0]!)

    // ---------------------------------------------------------------- app process
    const appEnv = {
      DATABASE_URL: databaseUrl,
      NODE_ENV: 'development',
      JWT_SECRET: jwtSecret,
      WA_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
      GREENAPI_MODE: 'simulator',
      LOG_LEVEL: 'error',
      // Live attempts stay live for the whole run; the expired ones are made so in the database.
      LINK_ATTEMPT_MINUTES: '60',
      SSE_MAX_PER_USER: String(STREAMS_PER_USER),
      SSE_MAX_PER_TENANT: '100000',
      SSE_MAX_PER_IP: '100000',
    }
    const linkedCount = groups.connected.length + groups.live.length + groups.expired.length + 1
    log(`starting the simulator's process (${linkedCount + 10} instances), then the app process…`)
    const sim = await startAppProcess('simulator', { ...appEnv, BENCH_SIM_INSTANCES: String(linkedCount + 10) })
    cleanups.push(() => sim.stop())
    // The instances' apiUrl is the shared simulator origin, which a process without a simulator
    // of its own sends to 127.0.0.1:PORT (simulatorAwareFetch's fallback, as for a CLI): the
    // simulator's process. (A second app process without it once had every check refused:
    // ECONNREFUSED on :3000, its leased instances unchecked, 0.21-0.38 checks/instance/min.)
    const simEnv = { ...appEnv, PORT: new URL(sim.base).port }
    const app = await startAppProcess('primary', simEnv)
    cleanups.push(() => app.stop())

    log(`link attempts for ${linkedCount} tenants through POST /api/wa/qr/generate…`)
    const linked = [...groups.connected, ...groups.live, ...groups.expired, ...groups.sse]
    // Fewer at a time than the app's pool has connections. Setup, not a figure: a 503 (pool
    // wait timed out on a busy machine) is tried again, twice at most.
    await pool(linked, 8, async (tenantId) => {
      for (let attempt = 1; ; attempt++) {
        const res = await fetch(`${app.base}/api/wa/qr/generate`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens([tenantId])[0]}`, 'content-type': 'application/json' },
          body: '{}',
        })
        if (res.status === 200) return void (await res.body?.cancel())
        if (res.status !== 503 || attempt === 3)
          throw new Error(`generate for ${tenantId}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`)
        await res.body?.cancel()
        await sleep(1000)
      }
    })
    const rows = await db
      .selectFrom('tenant_provider_configs')
      .select(['tenant_id', 'instance_id'])
      .where('tenant_id', 'in', linked)
      .execute()
    const instanceOf = new Map(rows.map((r) => [r.tenant_id, r.instance_id]))
    const instances = (ids: string[]) => ids.map((id) => instanceOf.get(id)!)
    const toConnect = [...groups.connected, ...groups.sse]
    log(`phones scan for ${toConnect.length} of them (simulator → webhook → app)…`)
    for (const part of chunks(instances(toConnect), 50)) {
      const res = await fetch(`${sim.base}/bench/sim`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instanceIds: part, authorize: true }),
      })
      if (!res.ok) throw new Error(`linking phones: HTTP ${res.status} ${await res.text()}`)
    }
    await until(`${toConnect.length} tenants connected`, 120_000, async () => {
      const { n } = await db
        .selectFrom('tenant_provider_configs')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('tenant_id', 'in', toConnect)
        .where('connection_status', '=', 'authorized')
        .executeTakeFirstOrThrow()
      return Number(n) === toConnect.length
    })
    if (groups.expired.length > 0)
      await db
        .updateTable('tenant_provider_configs')
        .set({ link_expires_at: sql<Date>`now() - interval '1 minute'` })
        .where('tenant_id', 'in', groups.expired)
        .execute()
    // Each state is what it claims to be, as the API answers it.
    const expect = async (group: string, tenantId: string, ok: (b: Record<string, unknown>) => boolean) => {
      const body = (await (
        await fetch(`${app.base}${STATUS_PATH}`, { headers: { authorization: `Bearer ${tokens([tenantId])[0]}` } })
      ).json()) as Record<string, unknown>
      if (!ok(body)) throw new Error(`${group} tenant answers ${JSON.stringify(body)}`)
    }
    await expect('connected', (groups.connected[0] ?? groups.sse[0])!, (b) => b.connected === true)

    // ---------------------------------------------------------------- --only sse
    if (ONLY_SSE) {
      const sse = await ssePhase(app, sim, tokenOf.get(groups.sse[0]!)!, instanceOf.get(groups.sse[0]!)!)
      log('the same streams on a bare node:http SSE server (the baseline: what Node itself costs per stream)…')
      const bare = await startAppProcess('baseline', {})
      cleanups.push(() => bare.stop())
      const baseline = []
      for (const n of P.sse) baseline.push(await sseRun(bare, bare, ['bare'], 'bare', n))
      await bare.stop()
      const table: Row[] = []
      sseRows(table, sse, baseline)
      report(table, 'SSE phase only (--only sse)', started, { sse, baseline })
      return
    }
    await expect('live attempt', groups.live[0]!, (b) => b.status === 'notAuthorized' && typeof b.linkExpiresAt === 'string')
    await expect('expired', groups.expired[0]!, (b) => b.linkExpired === true)
    await expect(
      'not linked',
      groups.notLinked[0]!,
      (b) => b.status === 'notAuthorized' && b.linkExpiresAt === undefined && b.linkExpired === undefined,
    )

    // ---------------------------------------------------------------- 1. states and rotation, interleaved rounds
    const stateSlice = (ids: string[]) => ids.slice(0, P.stateTenants)
    const targets: Array<{ key: string; label: string; path: string; tenants?: string[]; instances: string[] }> = [
      { key: 'noop', label: 'no-op Remix route', path: NOOP_PATH, instances: [] },
      { key: 'static', label: `static file (${STATIC_PATH})`, path: STATIC_PATH, instances: [] },
      {
        key: 'live',
        label: `status, live link attempt (${P.stateTenants} tenants)`,
        path: STATUS_PATH,
        tenants: groups.live,
        instances: instances(groups.live),
      },
      {
        key: 'connected',
        label: `status, connected (${P.stateTenants} tenants)`,
        path: STATUS_PATH,
        tenants: stateSlice(groups.connected),
        instances: instances(stateSlice(groups.connected)),
      },
      {
        key: 'expired',
        label: `status, expired attempt (${P.stateTenants} tenants)`,
        path: STATUS_PATH,
        tenants: groups.expired,
        instances: instances(groups.expired),
      },
      {
        key: 'notLinked',
        label: `status, not linked (${P.stateTenants} tenants)`,
        path: STATUS_PATH,
        tenants: groups.notLinked,
        instances: [],
      },
      ...P.rotation
        .filter((n) => n !== P.stateTenants)
        .map((n) => ({
          key: `rotation${n}`,
          label: `status, connected, ${n} tenant${n === 1 ? '' : 's'} in rotation`,
          path: STATUS_PATH,
          tenants: groups.connected.slice(0, n),
          instances: instances(groups.connected.slice(0, n)),
        })),
    ]
    // The warm-up is a request count: the no-op route, unlike the status route, has not been
    // called during setup, and its CPU per request took about a thousand requests to settle.
    log(
      `warm-up, then ${P.rounds} interleaved round(s) of ${targets.length} phases × ${P.phaseSec} s at ${CONNECTIONS} connections…`,
    )
    for (const t of targets)
      await runLoad({
        url: `${app.base}${t.path}`,
        connections: CONNECTIONS,
        ...P.warmup,
        ...(t.tenants ? { tokens: tokens(t.tenants) } : {}),
      })
    // Connected instances are reconciled once a minute, all in one wave when they linked together:
    // a 5 s phase sees the wave or not (0 or 12 calls/instance/min). Their rate is counted over a
    // span of at least one reconcile interval instead, for all the connected instances.
    const connectedInstances = instances(groups.connected)
    const spanStart = await spanFrom(sim, connectedInstances)
    const rounds: Array<Record<string, Measured>> = []
    for (let r = 0; r < P.rounds; r++) {
      const round: Record<string, Measured> = {}
      for (const t of targets) {
        // Tabs poll without pause; the phases take turns. One untimed pass over the phase's
        // tenants first, so a phase measures polls of tenants that keep polling, not the first
        // poll after the other phases' 35 s (a connected row's cache lives half a reconcile).
        if (t.tenants && t.tenants.length > 1)
          await runLoad({
            url: `${app.base}${t.path}`,
            connections: Math.min(CONNECTIONS, t.tenants.length),
            amount: t.tenants.length,
            tokens: tokens(t.tenants),
          })
        const profiled = r === 0 && PROFILED.has(t.key)
        if (profiled) await app.profile('start')
        round[t.key] = await measure(
          [app],
          [{ url: `${app.base}${t.path}`, ...(t.tenants ? { tokens: tokens(t.tenants) } : {}) }],
          t.instances,
          { durationSec: P.phaseSec },
          sim,
        )
        if (profiled) await app.profile(t.key)
      }
      rounds.push(round)
      log(`round ${r + 1}: ${targets.map((t) => `${t.key} ${Math.round(round[t.key]!.rps)}/s`).join(', ')}`)
    }
    const onePerMin = await upstreamSpan(sim, connectedInstances, spanStart)
    const med = (key: string, f: (m: Measured) => number) => median(rounds.map((r) => f(r[key]!)))
    const ratio = (key: string, base: string, f: (m: Measured) => number) =>
      median(rounds.map((r) => f(r[key]!) / Math.max(1e-9, f(r[base]!))))

    // ---------------------------------------------------------------- 2. two processes
    log('starting a second app process on the same database…')
    const app2 = await startAppProcess('secondary', simEnv)
    const twoStart = await spanFrom(sim, connectedInstances)
    cleanups.push(() => app2.stop())
    const two: Record<string, Measured> = {}
    for (const key of ['live', 'connected'] as const) {
      const t = targets.find((x) => x.key === key)!
      const tk = tokens(t.tenants!)
      two[key] = await measure(
        [app, app2],
        [
          { url: `${app.base}${STATUS_PATH}`, tokens: tk },
          { url: `${app2.base}${STATUS_PATH}`, tokens: tk },
        ],
        t.instances,
        { durationSec: P.phaseSec * 2 },
        sim,
      )
    }
    const twoPerMin = await upstreamSpan(sim, connectedInstances, twoStart)
    await app2.stop()

    // ---------------------------------------------------------------- 3. soak
    log(
      `soak: ${P.soak} status requests over ${P.stateTenants} connected tenants in ${P.soakChunks} chunks, heap after GC after each…`,
    )
    const soakHeap: number[] = [mb((await app.probe(true)).heapUsed)]
    const soakRss: number[] = []
    let soakServed = 0
    const soakStart = performance.now()
    for (let i = 0; i < P.soakChunks; i++) {
      const r = await runLoad({
        url: `${app.base}${STATUS_PATH}`,
        connections: CONNECTIONS,
        amount: Math.round(P.soak / P.soakChunks),
        maxSec: P.soakMaxSec / P.soakChunks,
        tokens: tokens(stateSlice(groups.connected)),
      })
      soakServed += r.total - r.errors - r.non2xx
      const p = await app.probe(true)
      soakHeap.push(mb(p.heapUsed))
      soakRss.push(mb(p.rss))
    }
    const soakRps = soakServed / ((performance.now() - soakStart) / 1000)

    // ---------------------------------------------------------------- 4. SSE
    const sse = await ssePhase(app, sim, tokenOf.get(groups.sse[0]!)!, instanceOf.get(groups.sse[0]!)!)

    // ---------------------------------------------------------------- 5. idle after load
    await sleep(P.idleSec * 1000)
    const idle = await app.probe()
    const idleGc = await app.probe(true)

    // ---------------------------------------------------------------- report
    const table: Row[] = []
    const row = (figure: string, value: string, target = '', met = '') => table.push([figure, value, target, met])
    const failures = (m: Measured) => (m.errors + m.non2xx ? `, ${m.errors + m.non2xx} failed ${JSON.stringify(m.codes)}` : '')
    const queriesOf = (q: number) => (Number.isNaN(q) ? '' : `, ${f2(q)} SQL/req`)
    for (const t of targets) {
      const worst = rounds.reduce(
        (a, r) => (r[t.key]!.errors + r[t.key]!.non2xx > a.errors + a.non2xx ? r[t.key]! : a),
        rounds[0]![t.key]!,
      )
      row(
        t.label,
        `${f0(med(t.key, (m) => m.rps))} req/s, p50 ${f0(med(t.key, (m) => m.p50))} ms, p99 ${f0(med(t.key, (m) => m.p99))} ms, CPU ${f3(med(t.key, (m) => m.cpuMsPerReq))} ms/req${queriesOf(med(t.key, (m) => m.queriesPerReq))}${failures(worst)}`,
      )
    }
    const statusKeys = targets.filter((t) => t.path === STATUS_PATH).map((t) => t)
    for (const t of statusKeys) {
      const rps = ratio(t.key, 'noop', (m) => m.rps)
      const p99 = ratio(t.key, 'noop', (m) => Math.max(1, m.p99))
      row(
        `${t.label}: vs no-op`,
        `${f2(rps)}x req/s, ${f2(p99)}x p99, ${f2(ratio(t.key, 'noop', (m) => m.cpuMsPerReq))}x CPU/req; vs static ${f2(ratio(t.key, 'static', (m) => m.rps))}x req/s`,
        '>= 0.9x req/s, p99 <= 1.2x',
        verdict(rps >= 0.9 && p99 <= 1.2),
      )
    }
    const live = med('live', (m) => m.upstreamPerInstancePerSec)
    row('upstream, live attempts, 1 process', `${f2(live)} calls/instance/s`, '<= 1.0/s', verdict(live <= 1))
    for (const t of statusKeys.filter((x) => x.key === 'connected' || x.key.startsWith('rotation'))) {
      const perMin = med(t.key, (m) => m.upstreamPerInstancePerSec) * 60
      row(
        `upstream, ${t.label.replace('status, ', '')}, within its phase`,
        `${f1(perMin)} calls/instance/min`,
        '(0 or the wave)',
        '',
      )
    }
    row(
      `upstream, ${connectedInstances.length} connected, 1 process, over ${f0(onePerMin.seconds)} s`,
      `${f2(onePerMin.perMin)} calls/instance/min, ${f2(onePerMin.stateChecksPerMin)} of them state checks; state checks of one instance at least ${f1(onePerMin.shortestGapSec)} s apart`,
      `<= 1 state check/min`,
      verdict(onePerMin.stateChecksPerMin > 0 && onePerMin.shortestGapSec >= RECONCILE_SECONDS),
    )
    row(
      `upstream, ${connectedInstances.length} connected, 2 processes, over ${f0(twoPerMin.seconds)} s`,
      `${f2(twoPerMin.perMin)} calls/instance/min, ${f2(twoPerMin.stateChecksPerMin)} of them state checks; state checks of one instance at least ${f1(twoPerMin.shortestGapSec)} s apart`,
      `<= 1 state check/min`,
      verdict(twoPerMin.stateChecksPerMin > 0 && twoPerMin.shortestGapSec >= RECONCILE_SECONDS),
    )
    const expiredUp = med('expired', (m) => m.upstreamPerInstancePerSec)
    row('upstream, expired attempts, 1 process', `${f2(expiredUp)} calls/instance/s`, 'none', verdict(expiredUp === 0))
    row(
      'two processes, live attempts',
      `${f0(two.live!.rps)} req/s, p99 ${f0(two.live!.p99)} ms, CPU ${f3(two.live!.cpuMsPerReq)} ms/req, upstream ${f2(two.live!.upstreamPerInstancePerSec)} calls/instance/s${failures(two.live!)}`,
      '<= 1.0/s',
      verdict(two.live!.upstreamPerInstancePerSec <= 1),
    )
    row(
      'two processes, connected',
      `${f0(two.connected!.rps)} req/s, p99 ${f0(two.connected!.p99)} ms, CPU ${f3(two.connected!.cpuMsPerReq)} ms/req, upstream within the phase ${f1(two.connected!.upstreamPerInstancePerSec * 60)} calls/instance/min${failures(two.connected!)}`,
      '',
      '',
    )
    sseRows(table, sse)
    const growth = soakHeap[soakHeap.length - 1]! - soakHeap[1]!
    if (P.soakChunks > 0)
      row(
        `heap after GC over a soak of ${soakServed} requests`,
        `${soakHeap.map(f1).join(' -> ')} MB (${f0(soakRps)} req/s)`,
        'flat (< 5 MB after the 1st chunk)',
        verdict(growth < 5),
      )
    if (P.soakChunks > 0) row('RSS over the soak', `${soakRss.map(f0).join(' -> ')} MB`, '(V8 sizing its heap)', '')
    row('app process at idle after load', `RSS ${f0(mb(idle.rss))} MB, heap after GC ${f1(mb(idleGc.heapUsed))} MB`, '', '')

    const mode = QUICK
      ? 'quick (small counts: not the figures that count)'
      : STATUS_ONLY
        ? 'status phases only (full counts, one round, no soak or SSE)'
        : 'full'
    report(table, mode, started, {
      rounds,
      twoProcesses: two,
      connectedPerMin: { one: onePerMin, two: twoPerMin },
      soak: { heapAfterGcMb: soakHeap, rssMb: soakRss, rps: soakRps },
      sse,
      idle: { rssMb: mb(idle.rss), heapAfterGcMb: mb(idleGc.heapUsed) },
    })
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {})
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exit(1)
  },
)
