import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { freePort } from '../utils/free-port'
import { serverEntryArgs } from '../utils/server-entry'

const root = path.resolve(__dirname, '../..')
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const DEMO_PASSWORD = 'e2e-demo-password-1'

/**
 * Debian's Chromium, or a clear message. Tests never install packages: CI's .ci/run installs
 * what the tests need (as root, before npm ci), a developer runs the command below once.
 */
export function ensureChromium(): string {
  if (fs.existsSync(CHROMIUM)) return CHROMIUM
  throw new Error(
    `Chromium is missing at ${CHROMIUM}: run 'sudo apt-get update && sudo apt-get install -y chromium' (or set CHROMIUM_PATH)`,
  )
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  })
}

export interface RunningServer {
  url: string
  output: () => string
  stop(): Promise<void>
}

/**
 * Starts the app exactly as `npm start` does (server/start.ts), against this test file's
 * database, on a free port, and waits for /healthz.
 */
export async function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const port = await freePort()
  let out = ''
  const child: ChildProcess = spawn(process.execPath, serverEntryArgs('start'), {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      DEMO_PASSWORD,
      JWT_SECRET: 'e2e-jwt-secret-0123456789-abcdefghijklmnop',
      WA_ENCRYPTION_KEYS: `e2e:${Buffer.alloc(32, 7).toString('base64')}`,
      WA_DATA_DIR: path.join(root, '.data', `e2e-${process.pid}`),
      NODE_ENV: 'development',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (c) => (out += String(c)))
  child.stderr!.on('data', (c) => (out += String(c)))
  const url = `http://localhost:${port}`
  const deadline = Date.now() + 90_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${out}`)
    try {
      const res = await fetch(`${url}/healthz`)
      if (res.ok) break
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`server did not answer /healthz:\n${out}`)
    await new Promise((r) => setTimeout(r, 250))
  }
  return {
    url,
    output: () => out,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGINT')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}
