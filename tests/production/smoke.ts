import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import express from 'express'
import {
  GreenApiSimulator,
  createGreenApiSimulatorRouter,
  DEFAULT_SIMULATOR_MOUNT_PATH,
} from '../../adapters/green-api/simulator'
import { freePort } from '../utils/free-port'

/**
 * The production path, exercised the way docs/deploy.md tells a stranger to run it (called by
 * .ci/production-smoke after `npm ci && npm run build && npm prune --omit=dev` in a clean clone):
 *
 *   NODE_ENV=production npm start        (plain node, production dependencies only)
 *
 * against the embedded PostgreSQL (its password persisted: the second start must work), with
 * Green-API in `shared` mode pointed at a simulator served here on 127.0.0.1 (production refuses
 * the built-in simulator). Checks /healthz, /readyz, compression and the CSP header, mints a
 * token with `NODE_ENV=production npm run token`, runs one API journey (features → QR → linked
 * → test message → disconnect; the disabled tenant gets 403), stops with SIGTERM (exit 0, no
 * PostgreSQL left), starts again and checks it serves. Any failure exits 1 with the server log.
 *
 * Usage: tsx tests/production/smoke.ts <directory of the pruned production checkout>
 */
const appDir = path.resolve(process.argv[2] ?? '')
if (!process.argv[2] || !fs.existsSync(path.join(appDir, 'build', 'server', 'start.js'))) {
  process.stderr.write('usage: tsx tests/production/smoke.ts <built and pruned checkout>\n')
  process.exit(2)
}

const say = (line: string) => process.stdout.write(`[smoke] ${line}\n`)
class SmokeFailure extends Error {}
function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new SmokeFailure(what)
  say(`ok  ${what}`)
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-prod-smoke-'))
fs.chmodSync(dataDir, 0o755) // the embedded PostgreSQL runs as `postgres` when CI is root
const secrets = {
  JWT_SECRET: `smoke-${Buffer.alloc(24, 3).toString('base64url')}-0123456789`,
  WA_ENCRYPTION_KEYS: `smoke:${Buffer.alloc(32, 9).toString('base64')}`,
}

async function main(): Promise<void> {
  // Green-API, simulated, on loopback: one instance for the shared mode.
  const sim = new GreenApiSimulator({ rateLimits: false, publicUrl: 'http://127.0.0.1' })
  const simApp = express().use(createGreenApiSimulatorRouter(sim))
  const simServer = await new Promise<import('node:http').Server>((resolve) => {
    const s = simApp.listen(0, '127.0.0.1', () => resolve(s))
  })
  const simUrl = `http://127.0.0.1:${(simServer.address() as AddressInfo).port}${DEFAULT_SIMULATOR_MOUNT_PATH}`
  const [instance] = sim.createInstances(1)
  if (!instance) throw new SmokeFailure('simulator instance')

  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? os.tmpdir(),
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: base,
    WA_DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(await freePort()),
    SEED_DEMO: '1',
    DEMO_PASSWORD: 'smoke-demo-password-1',
    METRICS_TOKEN: 'smoke-metrics-token-0123456789',
    GREENAPI_MODE: 'shared',
    GREENAPI_INSTANCE_ID: instance.instanceId,
    GREENAPI_API_TOKEN: instance.apiToken,
    GREENAPI_BASE_URL: simUrl,
    ...secrets,
  }

  let server = await startServer(env, base)
  try {
    const health = await fetch(`${base}/healthz`)
    check(health.status === 200, 'GET /healthz → 200')
    const ready = await fetch(`${base}/readyz`)
    check(ready.status === 200, 'GET /readyz → 200')

    const login = await fetch(`${base}/login`, { headers: { 'Accept-Encoding': 'gzip, br' } })
    check(login.status === 200, 'GET /login → 200')
    check(
      /script-src [^;]*'nonce-/.test(login.headers.get('content-security-policy') ?? ''),
      'the document has a nonce-based Content-Security-Policy',
    )
    const html = await login.text()
    const chunk = html.match(/\/build\/_shared\/[A-Za-z0-9_-]+\.js/)?.[0]
    check(chunk, 'the page references a shared JS chunk')
    const js = await fetch(`${base}${chunk}`, { headers: { 'Accept-Encoding': 'gzip' } })
    check(js.headers.get('content-encoding') === 'gzip', `${chunk} is sent gzip-compressed`)

    const token = await run('npm', ['run', '-s', 'token', '--', '--tenant', 'macrea'], env)
    const jwt = token.stdout.trim().split('\n').pop() ?? ''
    check(token.code === 0 && /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/.test(jwt), '`NODE_ENV=production npm run token` mints a JWT (exit 0)')
    const auth = { Authorization: `Bearer ${jwt}`, 'Content-Type': 'application/json' }

    const features = await fetch(`${base}/api/settings/features`, { headers: auth })
    check(
      features.status === 200 && ((await features.json()) as { whatsapp_enabled?: boolean }).whatsapp_enabled === true,
      'GET /api/settings/features → whatsapp_enabled',
    )
    const qr = await fetch(`${base}/api/wa/qr/generate`, { method: 'POST', headers: auth, body: '{}' })
    const qrBody = (await qr.json()) as { ok?: boolean; qrCode?: string }
    check(
      qr.status === 200 && qrBody.ok === true && qrBody.qrCode?.startsWith('data:image/png;base64,'),
      'POST /api/wa/qr/generate → a QR code from Green-API',
    )
    sim.authorize(instance.instanceId, '+33612345678')
    let connected = false
    for (let i = 0; i < 40 && !connected; i++) {
      const status = (await (await fetch(`${base}/api/wa/qr/status`, { headers: auth })).json()) as { connected?: boolean }
      connected = status.connected === true
      if (!connected) await new Promise((r) => setTimeout(r, 500))
    }
    check(connected, 'GET /api/wa/qr/status → connected after the (simulated) scan')
    const sent = await fetch(`${base}/api/wa/test`, { method: 'POST', headers: auth, body: '{}' })
    check(sent.status === 200, 'POST /api/wa/test → 200 (test message sent)')
    const disconnected = await fetch(`${base}/api/wa/disconnect`, { method: 'POST', headers: auth })
    check(disconnected.status === 200, 'POST /api/wa/disconnect → 200')

    const blocked = await run('npm', ['run', '-s', 'token', '--', '--tenant', 'test_tenant_blocked'], env)
    const blockedJwt = blocked.stdout.trim().split('\n').pop() ?? ''
    const refused = await fetch(`${base}/api/wa/qr/generate`, {
      method: 'POST',
      headers: { ...auth, Authorization: `Bearer ${blockedJwt}` },
      body: '{}',
    })
    check(
      refused.status === 403 && ((await refused.json()) as { error?: string }).error === 'WHATSAPP_DISABLED',
      'the disabled tenant gets 403 WHATSAPP_DISABLED',
    )
    const anonymous = await fetch(`${base}/api/wa/qr/status`)
    check(anonymous.status === 401, 'no token → 401')

    // Stopped as a terminal or a process manager does (the whole group): npm's shell reports
    // 143, what matters is that the app and its database are gone.
    await server.stop()
    check(await gone(base, dataDir), 'SIGTERM to `npm start` → the app and its PostgreSQL stop')

    // A restart on the same data directory (the embedded database's password was persisted),
    // this time as the Dockerfile runs it: plain node, SIGTERM to that process alone.
    server = await startServer(env, base, ['node', 'server/launch.mjs', 'start'])
    check((await fetch(`${base}/readyz`)).status === 200, 'a second start on the same data serves (/readyz → 200)')
    const again = await fetch(`${base}/api/settings/features`, { headers: auth })
    check(again.status === 200, 'the token minted before the restart still works')
    check((await server.stop()) === 0, 'SIGTERM to `node server/launch.mjs start` → exit 0')
    check(await gone(base, dataDir), 'nothing left running')
  } catch (e) {
    process.stderr.write(`--- server output\n${server.output()}\n`)
    await server.stop().catch(() => {})
    throw e
  } finally {
    simServer.close()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

interface Server {
  output(): string
  stop(): Promise<number | null>
}

async function startServer(env: NodeJS.ProcessEnv, base: string, command = ['npm', 'start']): Promise<Server> {
  let out = ''
  const [cmd, ...args] = command as [string, ...string[]]
  const group = cmd === 'npm'
  const child: ChildProcess = spawn(cmd, args, { cwd: appDir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  child.stdout!.on('data', (c) => (out += String(c)))
  child.stderr!.on('data', (c) => (out += String(c)))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const deadline = Date.now() + 120_000
  for (;;) {
    if (child.exitCode !== null) throw new SmokeFailure(`the production server exited early (${child.exitCode}):\n${out}`)
    const up = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    )
    if (up) break
    if (Date.now() > deadline) throw new SmokeFailure(`the production server did not answer /healthz:\n${out}`)
    await new Promise((r) => setTimeout(r, 250))
  }
  say(`ok  NODE_ENV=production ${command.join(' ')} serves ${base}`)
  return {
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode
      process.kill(group ? -child.pid! : child.pid!, 'SIGTERM')
      return await exited
    },
  }
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: appDir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += String(c)))
    child.stderr.on('data', (c) => (stderr += String(c)))
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Within 15 s: /healthz no longer answers and no postmaster of `dir` is alive. */
async function gone(base: string, dir: string): Promise<boolean> {
  for (let i = 0; i < 60; i++) {
    const up = await fetch(`${base}/healthz`).then(
      () => true,
      () => false,
    )
    if (!up && !postgresRunning(dir)) return true
    await new Promise((r) => setTimeout(r, 250))
  }
  return false
}

function postgresRunning(dir: string): boolean {
  const pidFile = path.join(dir, 'pg', 'postmaster.pid')
  if (!fs.existsSync(pidFile)) return false
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0])
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

main().then(
  () => {
    say('production path: all checks passed')
    process.exit(0)
  },
  (e: unknown) => {
    process.stderr.write(`[smoke] FAILED: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  },
)
