import { createHmac, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyringString } from '../adapters/crypto/encryption-keys'
import type { VerifiedDemoPasswords } from '../db/seed'
import { ensureDatabase, startEmbeddedPg } from './embedded-pg'

/**
 * What every entry point (npm start, npm run token/ops, db:migrate) needs before touching the app:
 * the data directory, dev secrets and a database. Secrets never reach stdout.
 */
/** The directory holding package.json: `..` from server/*.ts, `../..` from the compiled build/server/*.js. */
export const projectRoot = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir)
  return dir
})()
export const dataDir = path.resolve(process.env.WA_DATA_DIR ?? path.join(projectRoot, '.data'))

const isProduction = () => process.env.NODE_ENV === 'production'
const note = (line: string) => process.stderr.write(`${line}\n`)

interface DevSecrets {
  JWT_SECRET: string
  WA_ENCRYPTION_KEYS: string
  DEMO_PASSWORD: string
}

/**
 * A fresh JWT_SECRET (the dev secret and `ops secrets generate`): 48 CSPRNG bytes, base64url — 64
 * characters, twice JWT_SECRET's 32-byte minimum, safe unquoted in env files.
 */
export function generateJwtSecret(): string {
  return randomBytes(48).toString('base64url')
}

/** Generated once into .data/secrets.json (mode 0600) and reused by every later start. */
function loadDevSecrets(): DevSecrets {
  const file = path.join(dataDir, 'secrets.json')
  // The directory stays traversable: the embedded PostgreSQL runs as the `postgres` user when we are root.
  fs.mkdirSync(dataDir, { recursive: true })
  let stored: Partial<DevSecrets> & { EMBEDDED_PG_PASSWORD?: string } = {}
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<DevSecrets>
  const secrets: DevSecrets = {
    ...stored, // keeps keys of older checkouts (EMBEDDED_PG_PASSWORD, read by embeddedPgPassword)
    JWT_SECRET: stored.JWT_SECRET ?? generateJwtSecret(),
    WA_ENCRYPTION_KEYS: stored.WA_ENCRYPTION_KEYS ?? generateKeyringString(),
    DEMO_PASSWORD: stored.DEMO_PASSWORD ?? `demo-${randomBytes(6).toString('base64url')}`,
  }
  if (JSON.stringify(stored) !== JSON.stringify(secrets)) {
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 })
    fs.chmodSync(file, 0o600)
  }
  return secrets
}

/**
 * The embedded server's superuser password, generated once into .data/pg-password (0600) and
 * reused in development and production alike: the data directory was initialised with it, so a new
 * one at each start (what production did) locked the second start out. Checkouts from before this
 * file kept it in secrets.json: that value is carried over.
 */
function embeddedPgPassword(): string {
  const file = path.join(dataDir, 'pg-password')
  fs.mkdirSync(dataDir, { recursive: true })
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim()
  let legacy: string | undefined
  try {
    legacy = (JSON.parse(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8')) as { EMBEDDED_PG_PASSWORD?: string }).EMBEDDED_PG_PASSWORD
  } catch {
    legacy = undefined
  }
  const password = legacy ?? randomBytes(18).toString('base64url')
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 })
  return password
}

/** One clear line naming the variable, then exit: production never runs on generated secrets. */
function failProduction(variable: string, why: string): never {
  note(`Cannot start in production: ${variable} ${why}.`)
  process.exit(1)
}

/**
 * Fills process.env with JWT_SECRET / WA_ENCRYPTION_KEYS (dev: generated once, with a warning;
 * production: required) and returns the demo password.
 */
export function prepareSecrets(): { demoPassword: string; embeddedPgPassword: string } {
  if (isProduction()) {
    const jwt = process.env.JWT_SECRET
    if (!jwt) failProduction('JWT_SECRET', 'is not set')
    if (Buffer.byteLength(jwt, 'utf8') < 32) failProduction('JWT_SECRET', 'must be at least 32 bytes')
    if (!process.env.WA_ENCRYPTION_KEYS) failProduction('WA_ENCRYPTION_KEYS', 'is not set')
    return { demoPassword: process.env.DEMO_PASSWORD ?? randomBytes(12).toString('base64url'), embeddedPgPassword: embeddedPgPassword() }
  }
  const dev = loadDevSecrets()
  const generated: string[] = []
  if (!process.env.JWT_SECRET) {
    process.env.JWT_SECRET = dev.JWT_SECRET
    generated.push('JWT_SECRET')
  }
  if (!process.env.WA_ENCRYPTION_KEYS) {
    process.env.WA_ENCRYPTION_KEYS = dev.WA_ENCRYPTION_KEYS
    generated.push('WA_ENCRYPTION_KEYS')
  }
  if (generated.length > 0) {
    note(`WARNING: using development ${generated.join(' and ')} from ${path.join(dataDir, 'secrets.json')} (set them in production).`)
  }
  return { demoPassword: process.env.DEMO_PASSWORD ?? dev.DEMO_PASSWORD, embeddedPgPassword: embeddedPgPassword() }
}

/**
 * DATABASE_URL when set; otherwise the embedded PostgreSQL in .data/pg (started if needed, and
 * stopped by `stop()` only if this process started it). `directUrl` is DATABASE_DIRECT_URL (the
 * same database without PgBouncer in between) or the same URL, for work that needs a session.
 */
export async function resolveDatabase(): Promise<{ databaseUrl: string; directUrl: string; embedded: boolean; stop: () => Promise<void> }> {
  const { embeddedPgPassword } = prepareSecrets()
  if (process.env.DATABASE_URL) {
    const databaseUrl = process.env.DATABASE_URL
    return { databaseUrl, directUrl: process.env.DATABASE_DIRECT_URL ?? databaseUrl, embedded: false, stop: async () => {} }
  }
  const port = Number(process.env.EMBEDDED_PG_PORT ?? 54329)
  const handle = await startEmbeddedPg({ dataDir: path.join(dataDir, 'pg'), port, password: embeddedPgPassword, log: note })
  await ensureDatabase(handle.serverUrl, 'whatsapp_pro')
  const databaseUrl = handle.databaseUrl('whatsapp_pro')
  process.env.DATABASE_URL = databaseUrl
  return { databaseUrl, directUrl: databaseUrl, embedded: true, stop: () => handle.stop() }
}

/**
 * The demo seed's record of hashes it already verified (.data/demo-passwords-verified.json,
 * 0600), so a restart skips three scrypt verifications (≈ 0.3 s of a 2 s warm start). Each entry
 * is an HMAC keyed by JWT_SECRET over the e-mail, the stored hash and the password: it proves
 * "this hash was checked against this password" to this installation only, and is no fast hash
 * an attacker holding the file (or a database dump) could test guesses against. A new
 * DEMO_PASSWORD, JWT_SECRET or stored hash misses and is verified again. Writing is best
 * effort: a read-only data directory only means verifying at every start, as before.
 */
export function verifiedDemoPasswords(): VerifiedDemoPasswords {
  const file = path.join(dataDir, 'demo-passwords-verified.json')
  const secret = process.env.JWT_SECRET ?? ''
  const mark = (email: string, passwordHash: string, password: string) =>
    createHmac('sha256', secret).update(`demo-password-verified\0${email}\0${passwordHash}\0${password}`).digest('base64url')
  let marks: Record<string, string> = {}
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'))
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) marks = parsed as Record<string, string>
  } catch {
    marks = {}
  }
  return {
    has: (email, passwordHash, password) => secret !== '' && marks[email] === mark(email, passwordHash, password),
    add(email, passwordHash, password) {
      if (secret === '') return
      marks = { ...marks, [email]: mark(email, passwordHash, password) }
      try {
        fs.mkdirSync(dataDir, { recursive: true })
        const tmp = `${file}.${process.pid}.tmp`
        fs.writeFileSync(tmp, JSON.stringify(marks, null, 2), { mode: 0o600 })
        fs.renameSync(tmp, file)
      } catch {
        // read-only data directory: the next start verifies again
      }
    },
  }
}
