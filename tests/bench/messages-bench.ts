/**
 * The messages phase of the bench (issue #15), runnable alone:
 *
 *   npx tsx tests/bench/messages-bench.ts [--quick]
 *
 * A throwaway embedded PostgreSQL, the built app in its own process (tests/bench/bench-server.ts,
 * simulator over HTTP on loopback, its rate limits off), N tenants linked through the API. Then:
 *  1. enqueue → `sent` latency, one message at a time on an idle queue (from each message's own
 *     status history: server-side times, no polling error), p50 / p95;
 *  2. a drain: M messages over N tenants at once; the drain rate against the sum of the
 *     per-instance paces (1000 / WA_SEND_INTERVAL_MS each), and the most sends any instance made
 *     in any 1-second window (must never exceed its pace nor Green-API's 50/s).
 * Prints figures and ratios; asserts nothing (a setup failure exits 1).
 */
import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { Kysely, PostgresDialect } from 'kysely'
import { createPgPool } from '../../adapters/postgres/pg-pool'
import { signAppToken } from '../../app/utils/jwt.server'
import { migrateToLatest } from '../../db/migrate'
import type { Database } from '../../db/schema'
import { buildIfNeeded } from '../../server/build'
import { ensureDatabase, startEmbeddedPg } from '../../server/embedded-pg'
import { freePort } from '../utils/free-port'

const root = path.resolve(import.meta.dirname, '../..')
const QUICK = process.argv.includes('--quick')
const TENANTS = QUICK ? 5 : 20
const MESSAGES = QUICK ? 100 : 1000
const LATENCY_SAMPLES = QUICK ? 10 : 30
const INTERVAL_MS = 500 // Green-API's minimum delaySendMessagesMilliseconds
const log = (line: string) => process.stderr.write(`[messages-bench] ${line}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-msg-bench-'))
  const cleanups: Array<() => Promise<void>> = []
  try {
    const pg = await startEmbeddedPg({
      dataDir: path.join(tmp, 'pg'),
      port: await freePort(),
      password: randomBytes(12).toString('base64url'),
      flags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off'],
      log: () => {},
    })
    cleanups.push(() => pg.stop())
    await ensureDatabase(pg.serverUrl, 'wa_msg_bench')
    const databaseUrl = pg.databaseUrl('wa_msg_bench')
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: createPgPool({ connectionString: databaseUrl, max: 4 }) }),
    })
    cleanups.push(() => db.destroy())
    await migrateToLatest(db, databaseUrl)
    await buildIfNeeded((l) => log(l))

    const jwtSecret = `bench-${randomBytes(24).toString('base64url')}`
    const tenants = Array.from({ length: TENANTS }, (_, i) => `msgbench-${i}`)
    const tokens = new Map<string, string>()
    for (const tenantId of tenants) {
      const userId = randomUUID()
      const t = await signAppToken({ JWT_SECRET: jwtSecret }, { userId, tenantId, ttlSeconds: 3600, jti: randomUUID() })
      await db.insertInto('tenants').values({ id: tenantId, name: tenantId }).execute()
      await db
        .insertInto('tenant_features')
        .values({ tenant_id: tenantId, whatsapp_enabled: true, sms_enabled: true, email_enabled: true })
        .execute()
      await db
        .insertInto('users')
        .values({ id: userId, email: `${tenantId}@bench.test`, name: tenantId, password_hash: null })
        .execute()
      await db.insertInto('memberships').values({ tenant_id: tenantId, user_id: userId, role: 'owner' }).execute()
      await db
        .insertInto('api_tokens')
        .values({ jti: t.jti, tenant_id: tenantId, user_id: userId, name: 'bench', expires_at: t.expiresAt })
        .execute()
      tokens.set(tenantId, t.token)
    }

    const port = await freePort()
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'tests/bench/bench-server.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        NODE_ENV: 'development',
        JWT_SECRET: jwtSecret,
        WA_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
        GREENAPI_MODE: 'simulator',
        LOG_LEVEL: 'error',
        WA_SEND_INTERVAL_MS: String(INTERVAL_MS),
        WA_RATE_LIMIT_MESSAGES: '100000/60',
        BENCH_PORT: String(port),
        BENCH_ROLE: 'primary',
        BENCH_SIM_INSTANCES: String(TENANTS + 2),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr!.on('data', (c) => (stderr = (stderr + String(c)).slice(-4000)))
    cleanups.push(async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(10_000)])
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`app did not start: ${stderr}`)), 120_000)
      child.once('exit', (code) => reject(new Error(`app exited (${code}): ${stderr}`)))
      readline.createInterface({ input: child.stdout! }).on('line', (l) => {
        if (l.startsWith('ready ')) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    const base = `http://127.0.0.1:${port}`
    const call = (tenantId: string, p: string, body?: unknown) =>
      fetch(`${base}${p}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${tokens.get(tenantId)}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })

    log(`linking ${TENANTS} tenants…`)
    for (const tenantId of tenants) {
      const res = await call(tenantId, '/api/wa/qr/generate', {})
      if (res.status !== 200) throw new Error(`generate ${tenantId}: ${res.status} ${await res.text()}`)
    }
    const rows = await db.selectFrom('tenant_provider_configs').select(['tenant_id', 'instance_id']).execute()
    const instanceOf = new Map(rows.map((r) => [r.tenant_id, r.instance_id]))
    const res = await fetch(`${base}/bench/sim`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instanceIds: [...instanceOf.values()], authorize: true }),
    })
    if (!res.ok) throw new Error(`authorize: ${res.status}`)
    for (;;) {
      const n = await db
        .selectFrom('tenant_provider_configs')
        .select('tenant_id')
        .where('connection_status', '=', 'authorized')
        .execute()
      if (n.length === TENANTS) break
      await sleep(100)
    }

    const send = async (tenantId: string, text: string): Promise<string> => {
      const r = await call(tenantId, '/api/wa/messages', { to: '+33698765432', text })
      if (r.status !== 202) throw new Error(`send: ${r.status} ${await r.text()}`)
      return ((await r.json()) as { message: { id: string } }).message.id
    }
    const history = async (ids: string[]) =>
      db.selectFrom('wa_messages').select(['id', 'instance_id', 'status', 'status_history']).where('id', 'in', ids).execute()
    const waitAllSent = async (ids: string[], maxMs: number) => {
      const deadline = Date.now() + maxMs
      for (;;) {
        const rs = await history(ids)
        if (rs.every((r) => r.status === 'sent')) return rs
        if (Date.now() > deadline)
          throw new Error(`not all sent within ${maxMs} ms: ${rs.filter((r) => r.status !== 'sent').length} left`)
        await sleep(100)
      }
    }
    const at = (h: Array<{ status: string; at: string }>, s: string) => Date.parse(h.find((e) => e.status === s)?.at ?? '')

    // 1. enqueue → sent on an idle queue (each message waits out the pace of the previous one first).
    log(`latency: ${LATENCY_SAMPLES} messages, one at a time…`)
    const latencies: number[] = []
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      await sleep(INTERVAL_MS + 50)
      const id = await send(tenants[0]!, `latency ${i}`)
      const [r] = await waitAllSent([id], 30_000)
      latencies.push(at(r!.status_history, 'sent') - at(r!.status_history, 'queued'))
    }

    // 2. the drain.
    await sleep(INTERVAL_MS + 50)
    log(`drain: ${MESSAGES} messages over ${TENANTS} tenants…`)
    const t0 = Date.now()
    const ids = (
      await Promise.all(
        tenants.map(async (tenantId) => {
          const mine: string[] = []
          for (let i = 0; i < MESSAGES / TENANTS; i++) mine.push(await send(tenantId, `drain ${tenantId} ${i}`))
          return mine
        }),
      )
    ).flat()
    const enqueuedMs = Date.now() - t0
    const done = await waitAllSent(ids, 600_000)
    const sendTimes = new Map<string, number[]>()
    for (const r of done) sendTimes.set(r.instance_id, [...(sendTimes.get(r.instance_id) ?? []), at(r.status_history, 'sending')])
    const first = Math.min(...done.map((r) => at(r.status_history, 'queued')))
    const last = Math.max(...done.map((r) => at(r.status_history, 'sent')))
    const drainSec = (last - first) / 1000
    const rate = MESSAGES / drainSec
    const paceSum = TENANTS * (1000 / INTERVAL_MS)
    const maxPerSecond = Math.max(
      ...[...sendTimes.values()].map((ts) => Math.max(...ts.map((t) => ts.filter((u) => u >= t && u < t + 1000).length))),
    )
    const rssKb = Number(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? NaN)

    const figures = {
      tenants: TENANTS,
      messages: MESSAGES,
      intervalMs: INTERVAL_MS,
      latencyMs: { p50: pct(latencies, 50), p95: pct(latencies, 95) },
      enqueueSec: enqueuedMs / 1000,
      drainSec,
      drainPerSec: rate,
      sumOfPacesPerSec: paceSum,
      drainRatio: rate / paceSum,
      maxSendsPerInstancePerSecond: maxPerSecond,
      perInstancePace: 1000 / INTERVAL_MS,
      appRssMb: rssKb / 1024,
    }
    process.stdout.write(
      [
        `messages bench (${QUICK ? 'quick' : 'full'}): ${TENANTS} tenants, ${MESSAGES} messages, WA_SEND_INTERVAL_MS=${INTERVAL_MS}`,
        `  enqueue → sent, idle queue   p50 ${figures.latencyMs.p50} ms   p95 ${figures.latencyMs.p95} ms`,
        `  drain                        ${drainSec.toFixed(1)} s, ${rate.toFixed(1)} msg/s = ${(figures.drainRatio * 100).toFixed(0)} % of the sum of paces (${paceSum}/s)`,
        `  busiest instance, any 1 s    ${maxPerSecond} sends (pace ${figures.perInstancePace}/s, Green-API limit 50/s)`,
        `  app RSS after                ${figures.appRssMb.toFixed(0)} MB`,
        JSON.stringify(figures),
        '',
      ].join('\n'),
    )
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {})
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`messages-bench failed: ${err instanceof Error ? err.stack : String(err)}\n`)
    process.exit(1)
  },
)
