import { spawn, type ChildProcess } from 'node:child_process'
import type { Server } from 'node:http'
import net from 'node:net'
import path from 'node:path'
import express from 'express'
import { GreenApiSimulator, createGreenApiSimulatorRouter } from '../../adapters/green-api/simulator'
import { randomUUID } from 'node:crypto'
import { appToken, signHs } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { freePort } from '../utils/free-port'
import { serverEntryArgs } from '../utils/server-entry'
export { freePort }

const root = path.resolve(__dirname, '../..')
export const CHILD_JWT_SECRET = 'reliability-jwt-secret-0123456789-abcdefgh'
const CHILD_KEYS = `rel:${Buffer.alloc(32, 9).toString('base64')}`

/** A Green-API simulator served over HTTP by the test process (the app processes call it). */
export async function startSimulatorServer(): Promise<{ sim: GreenApiSimulator; baseUrl: string; close(): Promise<void> }> {
  const sim = new GreenApiSimulator({ sleep: (ms) => new Promise((r) => setTimeout(r, ms)) })
  const app = express()
  app.use(createGreenApiSimulatorRouter(sim))
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const { port } = server.address() as net.AddressInfo
  return {
    sim,
    baseUrl: `http://127.0.0.1:${port}/__sim/green-api`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

export interface AppProcess {
  url: string
  child: ChildProcess
  output(): string
  /** SIGKILL: no shutdown hook runs (a crash). */
  crash(): Promise<void>
  stop(): Promise<void>
}

/**
 * `server/start.ts` (what `npm start` runs) as a child process against this test file's
 * database, on a free port; resolves once /healthz answers. Unlike tests/e2e/support.ts it
 * keeps the child so tests can SIGKILL it.
 */
export async function startAppProcess(env: Record<string, string>): Promise<AppProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort()
  let out = ''
  // The server itself, never a launcher in between (the tsx CLI runs the script in a
  // grandchild): SIGKILL must hit the server process.
  const child = spawn(process.execPath, serverEntryArgs('start'), {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      DEMO_PASSWORD: 'reliability-demo-password',
      JWT_SECRET: CHILD_JWT_SECRET,
      WA_ENCRYPTION_KEYS: CHILD_KEYS,
      WA_DATA_DIR: path.join(root, '.data', `reliability-${process.pid}`),
      LOG_LEVEL: 'warn',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (c) => (out += String(c)))
  child.stderr!.on('data', (c) => (out += String(c)))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 90_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`app exited early:\n${out.slice(-2000)}`)
    const up = await fetch(`${url}/healthz`)
      .then((r) => r.ok)
      .catch(() => false)
    if (up) break
    if (Date.now() > deadline) throw new Error(`app did not answer /healthz:\n${out.slice(-2000)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  const exited = () =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => child.once('exit', () => r()))
  return {
    url,
    child,
    output: () => out,
    async crash() {
      const done = exited()
      child.kill('SIGKILL')
      await done
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const done = exited()
      child.kill('SIGTERM')
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))])
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}

/** A Bearer token the child processes accept. */
export function childToken(userId: string, tenantId: string): Promise<string> {
  return appToken(testDb(), { sub: userId, tenant_id: tenantId }, { secret: CHILD_JWT_SECRET })
}

/**
 * A token for a child app on a database other than this file's (its own embedded PostgreSQL),
 * where an app token's api_tokens row cannot be recorded: signed as the CRM does (no app `kid`,
 * a jti the app never saw), which the deny-list of docs/api.md#authentication accepts.
 */
export function crmToken(userId: string, tenantId: string): Promise<string> {
  return signHs({ sub: userId, tenant_id: tenantId, jti: randomUUID() }, { secret: CHILD_JWT_SECRET })
}

/** Reads SSE events from a fetch Response; `next()` resolves with the next event's data JSON. */
export function sseReader(res: Response): { next(timeoutMs?: number): Promise<any> } {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  return {
    async next(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const end = buffer.indexOf('\n\n')
        if (end >= 0) {
          const event = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const data = event
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n')
          if (data) return JSON.parse(data)
          continue
        }
        const left = deadline - Date.now()
        if (left <= 0) throw new Error('no SSE event in time')
        const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), left))])
        if (chunk === null) throw new Error('no SSE event in time')
        if (chunk.done) throw new Error('SSE stream ended')
        buffer += decoder.decode(chunk.value, { stream: true })
      }
    },
  }
}
