/**
 * `npm run bench` (SPEC §10, issue 8): one run, one machine, figures as ratios where possible.
 *
 * - PostgreSQL: DATABASE_URL when set, else a throwaway embedded server (temp dir, free port).
 * - The app: the built Remix app served in THIS process exactly as server/start.ts serves it in
 *   simulator mode (bootServices + createHttpApp), simulator rate limits off so the figures
 *   measure the app; a second app process (server/start.ts) for the two-process figures.
 * - Load: autocannon in a separate process (tests/bench/load.ts) against 127.0.0.1 only.
 *
 * Bounded: about 2 minutes. Prints one table, writes tests/bench/results.json, exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import type { Server } from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import { Kysely, PostgresDialect } from 'kysely'
import { createPgPool } from '../../adapters/postgres/pg-pool'
import { migrateToLatest } from '../../db/migrate'
import type { Database } from '../../db/schema'
import { buildIfNeeded } from '../../server/build'
import { ensureDatabase, startEmbeddedPg, type EmbeddedPgHandle } from '../../server/embedded-pg'
import { freePort } from '../utils/free-port'
import { NAIVE_STATUS_PATH, NOOP_PATH, naiveStatusRouter, withNoopRoute } from './baselines'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const TENANTS = 50
const PHASE_SEC = Number(process.env.BENCH_PHASE_SEC ?? 10)
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))


interface LoadResult {
  rps: number
  total: number
  p50: number
  p99: number
  errors: number
  non2xx: number
  codes: Record<string, number>
}

/** Runs tests/bench/load.ts (autocannon) in its own process. */
function load(config: { url: string; connections: number; durationSec?: number; amount?: number; tokens?: string[] }): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), path.join(root, 'tests/bench/load.ts'), JSON.stringify(config)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout!.on('data', (c) => (out += String(c)))
    child.stderr!.on('data', (c) => (err += String(c)))
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? ''
      try {
        resolve(JSON.parse(line) as LoadResult)
      } catch {
        reject(new Error(`load generator failed (${code}): ${err.slice(-500)}`))
      }
    })
  })
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024)

// A full GC before reading the heap, so growth means retained memory, not a lazy collector.
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void
function heapAfterGc(): number {
  gc()
  return process.memoryUsage().heapUsed
}

async function main() {
  const started = Date.now()
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-bench-'))
  const cleanups: Array<() => Promise<void>> = []
  try {
    // ---------------------------------------------------------------- database
    let databaseUrl = process.env.DATABASE_URL
    let pgHandle: EmbeddedPgHandle | undefined
    if (!databaseUrl) {
      log('starting a throwaway embedded PostgreSQL…')
      const dataDir = path.join(tmp, 'pg')
      pgHandle = await startEmbeddedPg({
        dataDir,
        port: await freePort(),
        password: randomBytes(12).toString('base64url'),
        flags: ['-c', 'max_connections=300', '-c', 'fsync=off', '-c', 'synchronous_commit=off'],
        log: () => {},
      })
      const handle = pgHandle
      cleanups.push(() => handle.stop())
      await ensureDatabase(pgHandle.serverUrl, 'wa_bench')
      databaseUrl = pgHandle.databaseUrl('wa_bench')
    }
    Object.assign(process.env, {
      DATABASE_URL: databaseUrl,
      NODE_ENV: 'development',
      JWT_SECRET: process.env.BENCH_JWT_SECRET ?? `bench-${randomBytes(24).toString('base64url')}`,
      WA_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
      GREENAPI_MODE: 'simulator',
      LOG_LEVEL: 'error',
      DATABASE_POOL_MAX: '20',
    })
    const seedPool = createPgPool({ connectionString: databaseUrl, max: 4 }) // PostgreSQL stops before this pool at teardown: not an error
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: seedPool }) })
    cleanups.push(() => db.destroy())
    await migrateToLatest(db)

    // ---------------------------------------------------------------- app (this process)
    await buildIfNeeded((line) => log(line))
    const build = (await import(pathToFileURL(path.join(root, 'build/index.js')).href)) as { entry: { module: Record<string, any> } }
    const entry = build.entry.module
    const { createHttpApp } = await import('../../server/http-app')
    const { signAppToken } = await import('../../app/utils/jwt.server')
    const port = await freePort()
    const booted = await entry.bootServices({ port, dataDir: path.join(tmp, 'app1'), simulatorInstances: TENANTS + 10, reconcile: false })
    const services = (globalThis as Record<symbol, any>)[Symbol.for('whatsapp-pro.services')]
    const sim = services.simulator as import('../../adapters/green-api/simulator').GreenApiSimulator
    sim.setRateLimitsEnabled(false)
    // The baselines are the bench's own (tests/bench/baselines.ts): a no-op route added to the
    // build this process serves, the naive status route as an extra express router.
    const naiveRoute = naiveStatusRouter({
      databaseUrl,
      verifyJwt: (token) => services.auth.verifyJwt(token),
      decrypt: (ciphertext, location) => services.wa.vault.decrypt(ciphertext, location),
    })
    const server = await new Promise<Server>((resolve) => {
      const app = createHttpApp({ build: withNoopRoute(build as never), routers: [...booted.routers, naiveRoute] })
      const s = app.listen(port, '127.0.0.1', () => resolve(s))
    })
    cleanups.push(async () => {
      await new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      })
      await entry.shutdownServices()
    })
    const base = `http://127.0.0.1:${port}`

    // ---------------------------------------------------------------- seed 50 tenants + 5 for SSE
    log(`seeding ${TENANTS} tenants with an owner and an API token each…`)
    const run = randomBytes(3).toString('hex')
    const seedTenant = async (id: string) => {
      await db.insertInto('tenants').values({ id, name: id }).onConflict((oc) => oc.doNothing()).execute()
      await db
        .insertInto('tenant_features')
        .values({ tenant_id: id, whatsapp_enabled: true, sms_enabled: true, email_enabled: true })
        .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ whatsapp_enabled: true }))
        .execute()
      const user = await db
        .insertInto('users')
        .values({ email: `owner@${id}.bench.test`, name: `Owner ${id}`, password_hash: null })
        .returning('id')
        .executeTakeFirstOrThrow()
      await db.insertInto('memberships').values({ tenant_id: id, user_id: user.id, role: 'owner' }).execute()
      const minted = await signAppToken(
        { JWT_SECRET: process.env.JWT_SECRET! },
        { userId: user.id, tenantId: id, ttlSeconds: 3600, jti: randomUUID() },
      )
      await db
        .insertInto('api_tokens')
        .values({ jti: minted.jti, tenant_id: id, user_id: user.id, name: 'bench', expires_at: minted.expiresAt })
        .execute()
      return { id, token: minted.token }
    }
    const tenants = await Promise.all(Array.from({ length: TENANTS }, (_, i) => seedTenant(`bench-${run}-${String(i).padStart(2, '0')}`)))
    const sseTenants = await Promise.all(Array.from({ length: 5 }, (_, i) => seedTenant(`bench-${run}-sse${i}`)))
    const api = (p: string, token: string, init: RequestInit = {}) =>
      fetch(`${base}${p}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } })
    const instanceOf = async (tenantId: string) =>
      (await db.selectFrom('tenant_provider_configs').select('instance_id').where('tenant_id', '=', tenantId).executeTakeFirstOrThrow()).instance_id

    log('linking their WhatsApp (generate + simulated authorize)…')
    const instances: string[] = []
    for (const t of tenants) {
      const res = await api('/api/wa/qr/generate', t.token, { method: 'POST', body: '{}' })
      if (res.status !== 200) throw new Error(`generate for ${t.id}: HTTP ${res.status} ${await res.text()}`)
      const instanceId = await instanceOf(t.id)
      instances.push(instanceId)
      sim.authorize(instanceId, `+336${String(10_000_000 + instances.length).slice(-8)}`)
    }
    await sim.flushWebhooks()
    for (const t of tenants) {
      for (let i = 0; ; i++) {
        const body = (await (await api('/api/wa/qr/status', t.token)).json()) as { connected?: boolean }
        if (body.connected) break
        if (i > 100) throw new Error(`${t.id} never connected`)
        await sleep(50)
      }
    }
    const tokens = tenants.map((t) => t.token)
    const getStateCalls = () => instances.map((id) => sim.callCount({ instanceId: id, method: 'getStateInstance' }))
    let requestsServed = 0

    // ---------------------------------------------------------------- 1. no-op vs status, 50 connections
    log(`no-op vs status at 50 connections over ${TENANTS} tenants (${PHASE_SEC} s each, after a 2 s warm-up)…`)
    await load({ url: `${base}${NOOP_PATH}`, connections: 50, durationSec: 2 })
    const noop = await load({ url: `${base}${NOOP_PATH}`, connections: 50, durationSec: PHASE_SEC })
    await load({ url: `${base}/api/wa/qr/status`, connections: 50, durationSec: 2, tokens })
    const status = await load({ url: `${base}/api/wa/qr/status`, connections: 50, durationSec: PHASE_SEC, tokens })
    requestsServed += noop.total + status.total

    // ---------------------------------------------------------------- 2. 200 pollers, one process
    log(`200 pollers over ${TENANTS} tenants, one app process (${PHASE_SEC} s)…`)
    let before = getStateCalls()
    let t0 = Date.now()
    const poll1 = await load({ url: `${base}/api/wa/qr/status`, connections: 200, durationSec: PHASE_SEC, tokens })
    let seconds = (Date.now() - t0) / 1000
    let deltas = getStateCalls().map((n, i) => n - before[i]!)
    const upstream1 = { maxPerInstancePerSec: Math.max(...deltas) / seconds, meanPerInstancePerSec: deltas.reduce((a, b) => a + b, 0) / deltas.length / seconds }
    requestsServed += poll1.total
    const rssAfterLoad = process.memoryUsage().rss
    const heapAfterLoad = heapAfterGc()

    // ---------------------------------------------------------------- 3. naive baseline
    log(`naive baseline (new pool + one upstream call per poll) at 50 connections (${Math.max(3, PHASE_SEC / 2)} s)…`)
    before = getStateCalls()
    t0 = Date.now()
    const naive = await load({ url: `${base}${NAIVE_STATUS_PATH}`, connections: 50, durationSec: Math.max(3, PHASE_SEC / 2), tokens })
    seconds = (Date.now() - t0) / 1000
    deltas = getStateCalls().map((n, i) => n - before[i]!)
    const naiveUpstream = { maxPerInstancePerSec: Math.max(...deltas) / seconds, meanPerInstancePerSec: deltas.reduce((a, b) => a + b, 0) / deltas.length / seconds }

    // ---------------------------------------------------------------- 4. 200 pollers, two processes
    log('starting a second app process on the same database…')
    const port2 = await freePort()
    // `node --import tsx` so child.pid is the server itself (its RSS is the app's alone).
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/start.ts'], {
      cwd: root,
      env: { ...process.env, PORT: String(port2), WA_DATA_DIR: path.join(tmp, 'app2'), DEMO_PASSWORD: 'bench-demo-password' },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let childErr = ''
    child.stderr!.on('data', (c) => (childErr += String(c)))
    cleanups.push(async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(10_000)])
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    const base2 = `http://127.0.0.1:${port2}`
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`second app process exited: ${childErr.slice(-800)}`)
      const up = await fetch(`${base2}/healthz`).then((r) => r.ok).catch(() => false)
      if (up) break
      if (i > 240) throw new Error('second app process did not start')
      await sleep(250)
    }
    log(`200 pollers over ${TENANTS} tenants split over two app processes (${PHASE_SEC} s)…`)
    before = getStateCalls()
    t0 = Date.now()
    const [pollA, pollB] = await Promise.all([
      load({ url: `${base}/api/wa/qr/status`, connections: 100, durationSec: PHASE_SEC, tokens }),
      load({ url: `${base2}/api/wa/qr/status`, connections: 100, durationSec: PHASE_SEC, tokens }),
    ])
    seconds = (Date.now() - t0) / 1000
    deltas = getStateCalls().map((n, i) => n - before[i]!)
    const upstream2 = { maxPerInstancePerSec: Math.max(...deltas) / seconds, meanPerInstancePerSec: deltas.reduce((a, b) => a + b, 0) / deltas.length / seconds }
    requestsServed += pollA.total
    const childRss = () => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        return m ? Number(m[1]) * 1024 : 0
      } catch {
        return 0
      }
    }
    const rssSecond = childRss()

    // ---------------------------------------------------------------- 5. soak (memory)
    const soakSec = Math.max(3, Math.round(PHASE_SEC / 2))
    log(`soak: 4 x ${soakSec} s of status polls at 50 connections, RSS sampled after each…`)
    const rssSamples: number[] = []
    const heapSamples: number[] = []
    let soakRequests = 0
    for (let i = 0; i < 4; i++) {
      const r = await load({ url: `${base}/api/wa/qr/status`, connections: 50, durationSec: soakSec, tokens })
      soakRequests += r.total
      rssSamples.push(process.memoryUsage().rss)
      heapSamples.push(heapAfterGc())
    }
    const heapGrowth = heapSamples[heapSamples.length - 1]! - heapSamples[0]!
    requestsServed += soakRequests
    const rssGrowth = rssSamples[rssSamples.length - 1]! - rssSamples[1]!

    // ---------------------------------------------------------------- 6. scan → SSE "connected"
    log('time from simulated scan to an SSE subscriber seeing "connected" (5 tenants)…')
    const sseTimes: number[] = []
    for (const t of sseTenants) {
      const gen = await api('/api/wa/qr/generate', t.token, { method: 'POST', body: '{}' })
      if (gen.status !== 200) throw new Error(`generate for ${t.id}: HTTP ${gen.status}`)
      const instanceId = await instanceOf(t.id)
      const controller = new AbortController()
      const res = await fetch(`${base}/api/wa/events`, { headers: { authorization: `Bearer ${t.token}` }, signal: controller.signal })
      const reader = res.body!.getReader()
      const decoder = new TextDecoder()
      let buffer = ''
      const nextEvent = async (): Promise<string> => {
        for (;;) {
          const end = buffer.indexOf('\n\n')
          if (end >= 0) {
            const ev = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            if (ev.includes('data:')) return ev
            continue
          }
          const { value, done } = await reader.read()
          if (done) throw new Error('SSE stream ended')
          buffer += decoder.decode(value, { stream: true })
        }
      }
      await nextEvent() // the initial status
      const nonce = sim.currentQrNonce(instanceId)
      const scanAt = performance.now()
      const scanned = sim.scan(instanceId, nonce ?? '', '+33699000001')
      if (!scanned.ok) throw new Error(`scan failed: ${scanned.reason}`)
      for (;;) {
        const ev = await Promise.race([nextEvent(), sleep(5_000).then(() => 'timeout')])
        if (ev === 'timeout') throw new Error('no SSE event within 5 s')
        if (ev.includes('"connected":true')) break
      }
      sseTimes.push(performance.now() - scanAt)
      controller.abort()
    }
    sseTimes.sort((a, b) => a - b)

    // ---------------------------------------------------------------- report
    const throughputRatio = status.rps / noop.rps
    const p99Ratio = status.p99 / Math.max(1, noop.p99)
    const cpu = os.cpus()
    const machine = `${cpu.length} x ${cpu[0]?.model.trim() ?? 'cpu'}, ${mb(os.totalmem())} MB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`
    const fmt = (n: number, d = 0) => n.toFixed(d)
    const rows: Array<[string, string, string, string]> = [
      ['no-op route, 50 conn', `${fmt(noop.rps)} req/s, p50 ${noop.p50} ms, p99 ${noop.p99} ms`, 'baseline', ''],
      ['status route, 50 conn / 50 tenants', `${fmt(status.rps)} req/s, p50 ${status.p50} ms, p99 ${status.p99} ms`, '', ''],
      ['status / no-op throughput', `${fmt(throughputRatio, 2)}x`, '>= 0.5x', throughputRatio >= 0.5 ? 'OK' : 'MISS'],
      ['status / no-op p99', `${fmt(p99Ratio, 2)}x`, '<= 2x', p99Ratio <= 2 ? 'OK' : 'MISS'],
      ['status, 200 conn, 1 process', `${fmt(poll1.rps)} req/s, p50 ${poll1.p50} ms, p99 ${poll1.p99} ms`, '(load for the upstream figure)', ''],
      ['getStateInstance /instance/s, 1 process', `max ${fmt(upstream1.maxPerInstancePerSec, 2)}, mean ${fmt(upstream1.meanPerInstancePerSec, 2)}`, '<= 1.0', upstream1.maxPerInstancePerSec <= 1 ? 'OK' : 'MISS'],
      ['getStateInstance /instance/s, 2 processes', `max ${fmt(upstream2.maxPerInstancePerSec, 2)}, mean ${fmt(upstream2.meanPerInstancePerSec, 2)} (${fmt(pollA.rps + pollB.rps)} req/s)`, '<= 1.0', upstream2.maxPerInstancePerSec <= 1 ? 'OK' : 'MISS'],
      ['naive baseline, 50 conn', `${fmt(naive.rps)} req/s, p99 ${naive.p99} ms, ${naive.non2xx + naive.errors} failed`, '', ''],
      ['status / naive throughput', `${fmt(status.rps / Math.max(1, naive.rps), 1)}x`, '', ''],
      ['naive getStateInstance /instance/s', `max ${fmt(naiveUpstream.maxPerInstancePerSec, 1)}, mean ${fmt(naiveUpstream.meanPerInstancePerSec, 1)}`, '(Green-API: 1)', ''],
      ['RSS, bench process (app+simulator+harness)', `${mb(rssAfterLoad)} MB after ${requestsServed - soakRequests} requests (heap after GC ${mb(heapAfterLoad)} MB)`, '< 250 MB', mb(rssAfterLoad) < 250 ? 'OK' : 'MISS'],
      ['RSS, second app process (npm start)', `${mb(rssSecond)} MB after ${pollB.total} requests`, '< 250 MB', mb(rssSecond) < 250 ? 'OK' : 'MISS'],
      ['RSS over soak', `${rssSamples.map(mb).join(' -> ')} MB (${soakRequests} requests)`, 'flat', ''],
      ['heap after GC over soak', `${heapSamples.map(mb).join(' -> ')} MB, growth ${mb(heapGrowth)} MB`, 'flat (< 10 MB)', mb(heapGrowth) < 10 ? 'OK' : 'MISS'],
      ['scan -> SSE "connected"', `median ${fmt(sseTimes[2] ?? 0)} ms, max ${fmt(sseTimes[sseTimes.length - 1] ?? 0)} ms`, '< 1000 ms', (sseTimes[sseTimes.length - 1] ?? 1e9) < 1000 ? 'OK' : 'MISS'],
    ]
    const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length), ['figure', 'value', 'target', ''][c]!.length))
    const line = (r: string[]) => `| ${r.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`
    const table = [line(['figure', 'value', 'target', '']), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')
    process.stdout.write(`\nWhatsApp Pro bench — ${new Date().toISOString()}\nmachine: ${machine}\n\n${table}\n\n`)
    const errorsSeen = [noop, status, poll1, pollA, pollB].reduce((n, r) => n + r.errors + r.non2xx, 0)
    process.stdout.write(`errors/non-2xx on our routes: ${errorsSeen}; whole bench ${fmt((Date.now() - started) / 1000)} s\n`)
    const results = {
      at: new Date().toISOString(),
      machine,
      phaseSeconds: PHASE_SEC,
      noop,
      status,
      ratios: { throughput: throughputRatio, p99: p99Ratio, statusVsNaive: status.rps / Math.max(1, naive.rps) },
      pollers200: { oneProcess: { load: poll1, upstream: upstream1 }, twoProcesses: { loads: [pollA, pollB], upstream: upstream2 } },
      naive: { load: naive, upstream: naiveUpstream },
      memory: {
        rssAfterLoadMb: mb(rssAfterLoad),
        heapAfterGcMb: mb(heapAfterLoad),
        secondProcessRssMb: mb(rssSecond),
        requestsBeforeSoak: requestsServed - soakRequests,
        soakRssMb: rssSamples.map(mb),
        soakRssGrowthMb: mb(rssGrowth),
        soakHeapAfterGcMb: heapSamples.map(mb),
        soakHeapGrowthMb: mb(heapGrowth),
      },
      scanToSseMs: sseTimes,
      errorsOnOurRoutes: errorsSeen,
    }
    fs.writeFileSync(path.join(root, 'tests/bench/results.json'), `${JSON.stringify(results, null, 2)}\n`)
    log('wrote tests/bench/results.json')
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
