/**
 * Issue 13's before/after figures for its three high items, measured the way the red team did,
 * against an app that is already running (`npm start`) on 127.0.0.1 ONLY (any other host is
 * refused: this script floods what it targets).
 *
 * - sse:     open SSE_STREAMS (3000) authenticated `GET /api/wa/events` streams, read each one's
 *            first event, destroy the sockets from the client side; the open-streams gauge
 *            (wa_sse_clients on /metrics), heap used and the server's VmRSS before, all open,
 *            10 s after closing, after 30 s more idle and after a forced GC (inspector, optional).
 * - webhook: a 300 MB body streamed to `/api/wa/webhooks/green-api/1101000001` without a token,
 *            chunked, then with Content-Length, then 4 chunked in parallel: what the client got
 *            (status or reset, bytes it managed to send) and VmRSS/VmHWM around it.
 * - login:   150 concurrent `POST /login` from 127.0.0.2…151 (client socket bound with
 *            localAddress, no proxy trust needed), the right password at #100 → accepted (302 +
 *            session cookie) / 429 / 401, and passwords actually checked (audit rows); then 40
 *            concurrent wrong passwords for another account from one address (127.0.0.200) →
 *            failures counted in audit_log.
 *
 * Env: BASE_URL (http://127.0.0.1:<port>), SERVER_PID (the node process serving it, for
 * /proc/<pid>/status), TOKENS (JWTs from `npm run -s token -- --tenant macrea [--email …]`,
 * comma-separated, streams spread over them), PASSWORD (the demo
 * password), DATABASE_URL (the app's database, read-only queries on audit_log), optional
 * METRICS_TOKEN, INSPECT_PORT (the server's --inspect-port, opened with SIGUSR1 for a forced GC;
 * needs a global WebSocket: Node 22+, or Node 20 with --experimental-websocket), PHASES
 * (sse,webhook,login), SSE_STREAMS, WEBHOOK_MB, LABEL. Prints progress to stderr and one JSON
 * object of figures on stdout. Every wait is bounded.
 *
 * SSE_GC_WHILE_OPEN=1 adds a forced GC while all streams are open, before they are closed.
 *
 * Run: tests/bench/hardening-figures.sh <worktree> <label> (starts and stops the app itself).
 */
import http from 'node:http'
import fs from 'node:fs'
import pg from 'pg'

const BASE_URL = process.env.BASE_URL ?? ''
const base = new URL(BASE_URL)
if (base.hostname !== '127.0.0.1') throw new Error(`BASE_URL must be http://127.0.0.1:<port> (got ${BASE_URL})`)
const PORT = Number(base.port)
const SERVER_PID = Number(process.env.SERVER_PID)
// Several tokens (comma-separated, one per user) spread the streams over users: the AFTER app's
// per-user cap cannot be raised above 1000 (env schema), so 3000 streams need three users.
const TOKENS = (process.env.TOKENS ?? process.env.TOKEN ?? '').split(',').filter(Boolean)
const PASSWORD = process.env.PASSWORD ?? ''
const METRICS_TOKEN = process.env.METRICS_TOKEN
const INSPECT_PORT = process.env.INSPECT_PORT ? Number(process.env.INSPECT_PORT) : undefined
const PHASES = (process.env.PHASES ?? 'sse,webhook,login').split(',')
const SSE_STREAMS = Number(process.env.SSE_STREAMS ?? 3000)
const WEBHOOK_BYTES = Number(process.env.WEBHOOK_MB ?? 300) * 1024 * 1024
const LABEL = process.env.LABEL ?? ''

const log = (line: string) => process.stderr.write(`[figures ${LABEL}] ${line}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10

function procStatus(): { rssMb: number; hwmMb: number } {
  const text = fs.readFileSync(`/proc/${SERVER_PID}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN)
  return { rssMb: Math.round(kb('VmRSS') / 1024), hwmMb: Math.round(kb('VmHWM') / 1024) }
}

/** A small GET/POST on its own connection, bounded in time; never throws. */
function request(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string; localAddress?: string; timeoutMs?: number } = {},
): Promise<{ status: number | string; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port: PORT, method, path, agent: false, headers: opts.headers, localAddress: opts.localAddress },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          if (body.length < 64 * 1024) body += c
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ status: e.code ?? 'error', headers: res.headers, body }))
      },
    )
    req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: e.code ?? 'error', headers: {}, body: '' }))
    req.end(opts.body)
  })
}

async function metrics(): Promise<{ sseGauge: number; heapUsedMb: number }> {
  const res = await request('GET', '/metrics', { headers: METRICS_TOKEN ? { Authorization: `Bearer ${METRICS_TOKEN}` } : {} })
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(res.body)?.[1] ?? NaN)
  return { sseGauge: value('wa_sse_clients'), heapUsedMb: mb(value('nodejs_heap_size_used_bytes')) }
}

async function snapshot(label: string) {
  const s = { at: label, ...(await metrics()), ...procStatus() }
  log(`${label}: gauge ${s.sseGauge}, heap ${s.heapUsedMb} MB, RSS ${s.rssMb} MB (peak ${s.hwmMb} MB)`)
  return s
}

/** Forces a full GC in the server through its inspector (SIGUSR1 opens it on INSPECT_PORT). */
async function forceGc(): Promise<boolean> {
  const WS = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket
  if (!INSPECT_PORT || !WS) return false
  process.kill(SERVER_PID, 'SIGUSR1')
  for (let i = 0; i < 50; i++) {
    const res = await new Promise<string | null>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: INSPECT_PORT, path: '/json/list', agent: false }, (r) => {
        let b = ''
        r.on('data', (c) => (b += c))
        r.on('end', () => resolve(b))
      })
      req.on('error', () => resolve(null))
      req.setTimeout(2000, () => req.destroy())
    })
    if (res) {
      const url = (JSON.parse(res) as Array<{ webSocketDebuggerUrl: string }>)[0]?.webSocketDebuggerUrl
      if (!url) return false
      return await new Promise<boolean>((resolve) => {
        const ws = new WS(url)
        const timer = setTimeout(() => (ws.close(), resolve(false)), 30_000)
        ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }))
        ws.onmessage = (m) => {
          if ((JSON.parse(String(m.data)) as { id?: number }).id === 1) {
            clearTimeout(timer)
            ws.close()
            resolve(true)
          }
        }
        ws.onerror = () => (clearTimeout(timer), resolve(false))
      })
    }
    await sleep(200)
  }
  return false
}

// ---------------------------------------------------------------------------------------------
// SSE

interface OpenStream {
  status: number | string
  req?: http.ClientRequest
}

function openStream(token: string): Promise<OpenStream> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: PORT,
        path: '/api/wa/events',
        agent: false,
        headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
      },
      (res) => {
        let buf = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          buf += c
          if (res.statusCode === 200 && buf.includes('\n\n')) {
            res.removeAllListeners('data')
            resolve({ status: buf.includes('event: status') ? 200 : 'no-status-event', req })
          }
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }))
        res.on('error', () => resolve({ status: 'reset' }))
      },
    )
    req.setTimeout(30_000, () => {
      req.destroy()
      resolve({ status: 'timeout' })
    })
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: e.code ?? 'error' }))
    req.end()
  })
}

async function ssePhase() {
  const snaps = [await snapshot('sse before')]
  const streams: OpenStream[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < SSE_STREAMS) {
        const i = next++
        streams.push(await openStream(TOKENS[i % TOKENS.length]!))
      }
    }),
  )
  const statuses: Record<string, number> = {}
  for (const s of streams) statuses[String(s.status)] = (statuses[String(s.status)] ?? 0) + 1
  log(`opened ${SSE_STREAMS}: ${JSON.stringify(statuses)}`)
  await sleep(2000)
  snaps.push(await snapshot('sse all open'))
  // SSE_GC_WHILE_OPEN=1: a full GC while every stream is open, then close them: "every closed
  // tab after a garbage collection" (the BEFORE app loses the abort once its WeakRef is gone).
  if (process.env.SSE_GC_WHILE_OPEN === '1' && (await forceGc())) {
    await sleep(2000)
    snaps.push(await snapshot('sse all open, after forced GC'))
  }
  for (const s of streams) s.req?.destroy()
  await sleep(10_000)
  snaps.push(await snapshot('sse 10 s after close'))
  await sleep(30_000)
  snaps.push(await snapshot('sse +30 s idle'))
  const gc = await forceGc()
  if (gc) {
    await sleep(5000)
    snaps.push(await snapshot('sse after forced GC'))
  }
  return { streams: SSE_STREAMS, users: TOKENS.length, statuses, snapshots: snaps }
}

// ---------------------------------------------------------------------------------------------
// Webhook

const CHUNK = 64 * 1024

function bigPost(
  mode: 'chunked' | 'content-length',
): Promise<{ mode: string; outcome: string; bytesSent: number; seconds: number }> {
  const started = Date.now()
  return new Promise((resolve) => {
    let sent = 0
    let done = false
    let outcome = ''
    const finish = (o: string) => {
      if (done) return
      done = true
      outcome = o
      clearTimeout(timer)
      req.destroy()
      resolve({ mode, outcome, bytesSent: sent, seconds: Math.round((Date.now() - started) / 100) / 10 })
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/json' }
    if (mode === 'content-length') headers['Content-Length'] = String(WEBHOOK_BYTES)
    const req = http.request(
      { host: '127.0.0.1', port: PORT, method: 'POST', path: '/api/wa/webhooks/green-api/1101000001', agent: false, headers },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          if (body.length < 2048) body += c
        })
        res.on('end', () => {
          let code = ''
          try {
            code = String((JSON.parse(body) as { error?: unknown }).error ?? '')
          } catch {
            code = body.slice(0, 60)
          }
          finish(`${res.statusCode} ${code}`.trim())
        })
        res.on('error', (e: NodeJS.ErrnoException) => finish(`${res.statusCode} then ${e.code ?? 'reset'}`))
      },
    )
    req.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? 'error'))
    const timer = setTimeout(() => finish('client timeout (180 s)'), 180_000)
    const head = Buffer.from('{"typeWebhook":"incomingMessageReceived","pad":"')
    const tail = Buffer.from('"}')
    const filler = Buffer.alloc(CHUNK, 'a')
    const pump = async () => {
      req.write(head)
      sent += head.length
      while (!done && sent + tail.length < WEBHOOK_BYTES) {
        const n = Math.min(CHUNK, WEBHOOK_BYTES - tail.length - sent)
        const ok = req.write(n === CHUNK ? filler : filler.subarray(0, n))
        sent += n
        if (!ok)
          await new Promise<void>((r) => {
            const go = () => (req.off('drain', go), req.off('close', go), r())
            req.once('drain', go)
            req.once('close', go)
          })
      }
      if (!done) {
        req.end(tail)
        sent += tail.length
      }
    }
    void pump()
  })
}

async function webhookPhase() {
  const rounds: Array<{
    name: string
    before: ReturnType<typeof procStatus>
    after: ReturnType<typeof procStatus>
    results: Awaited<ReturnType<typeof bigPost>>[]
  }> = []
  for (const [name, modes] of [
    ['1 × chunked', ['chunked']],
    ['1 × Content-Length', ['content-length']],
    ['4 × chunked in parallel', ['chunked', 'chunked', 'chunked', 'chunked']],
  ] as const) {
    const before = procStatus()
    const results = await Promise.all(modes.map((m) => bigPost(m)))
    await sleep(2000)
    const after = procStatus()
    log(
      `webhook ${name}: RSS ${before.rssMb} → ${after.rssMb} MB (peak ${after.hwmMb} MB); ${results.map((r) => `${r.outcome} after ${mb(r.bytesSent)} MB in ${r.seconds} s`).join('; ')}`,
    )
    rounds.push({ name, before, after, results })
  }
  return { bodyMb: mb(WEBHOOK_BYTES), rounds }
}

// ---------------------------------------------------------------------------------------------
// Login

function loginForm(email: string, password: string): string {
  return new URLSearchParams({ email, password, redirectTo: '/settings/whatsapp' }).toString()
}

function postLogin(email: string, password: string, localAddress: string) {
  return request('POST', '/login', {
    localAddress,
    timeoutMs: 120_000,
    body: loginForm(email, password),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: base.origin },
  })
}

async function auditCounts(db: pg.Client, v4: string[]): Promise<Record<string, number>> {
  // An app listening on :: (the BEFORE one: no HOST) sees IPv4-mapped addresses.
  const ips = [...v4, ...v4.map((ip) => `::ffff:${ip}`)]
  const { rows } = await db.query<{ outcome: string; n: string }>(
    `SELECT outcome, count(*) AS n FROM audit_log WHERE action = 'auth.login' AND ip = ANY($1::text[]) GROUP BY outcome`,
    [ips],
  )
  return Object.fromEntries(rows.map((r) => [r.outcome, Number(r.n)]))
}

async function loginPhase() {
  const db = new pg.Client({ connectionString: process.env.DATABASE_URL })
  await db.connect()
  try {
    const ips = Array.from({ length: 150 }, (_, i) => `127.0.0.${i + 2}`)
    const answers = await Promise.all(ips.map((ip, i) => postLogin('admin@macrea.test', i === 99 ? PASSWORD : `wrong-${i}`, ip)))
    const tally = (list: typeof answers) => {
      const t: Record<string, number> = {}
      for (const a of list) t[String(a.status)] = (t[String(a.status)] ?? 0) + 1
      return t
    }
    const accepted = answers.filter(
      (a) =>
        a.status === 302 &&
        String(a.headers.location ?? '').startsWith('/settings') &&
        (a.headers['set-cookie'] ?? []).length > 0,
    ).length
    const right = answers[99]!
    const distributed = {
      accepted,
      statuses: tally(answers),
      rightPasswordAnswer: `${right.status}${right.headers.location ? ` → ${right.headers.location}` : ''}`,
      audit: await auditCounts(db, ips),
    }
    log(`150 concurrent from 150 addresses: ${JSON.stringify(distributed)}`)

    const one = '127.0.0.200'
    const answers40 = await Promise.all(Array.from({ length: 40 }, (_, i) => postLogin('member@macrea.test', `wrong-${i}`, one)))
    const single = { statuses: tally(answers40), audit: await auditCounts(db, [one]) }
    log(`40 concurrent wrong from ${one}: ${JSON.stringify(single)}`)
    return { distributed, single }
  } finally {
    await db.end()
  }
}

// ---------------------------------------------------------------------------------------------

const out: Record<string, unknown> = { label: LABEL, node: process.version, date: new Date().toISOString() }
if (PHASES.includes('sse')) out.sse = await ssePhase()
if (PHASES.includes('webhook')) out.webhook = await webhookPhase()
if (PHASES.includes('login')) out.login = await loginPhase()
process.stdout.write(`${JSON.stringify(out)}\n`)
process.exit(0)
