import { createHmac, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { generateKeyringString } from '../adapters/crypto/encryption-keys'
import type { VerifiedDemoPasswords } from '../db/seed'
import { ensureDatabase, startEmbeddedPg } from './embedded-pg'

/**
 * What every entry point (npm start, npm run token/ops, db:migrate) needs before touching the app:
 * the data directory, dev secrets and a database. Secrets never reach stdout.
 *
 * The process's own variables (where it listens, where it keeps data, the embedded database,
 * the demo seed) have their schema here; the app's configuration is app/utils/env.server.ts.
 */
type EnvSource = Record<string, string | undefined>

const ServerEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce
    .number({ message: 'PORT must be an integer from 0 to 65535' })
    .int('PORT must be an integer from 0 to 65535')
    .min(0, 'PORT must be an integer from 0 to 65535')
    .max(65535, 'PORT must be an integer from 0 to 65535')
    .default(3000),
  /** Unset: every interface (as a container needs). HOST=127.0.0.1 keeps it on loopback. */
  HOST: z
    .string()
    .trim()
    .optional()
    .transform((v) => v || undefined),
  WA_DATA_DIR: z.string().optional(),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  DATABASE_URL: z.string().optional(),
  /** The same database around a transaction-mode pooler (migrations, LISTEN); default DATABASE_URL. */
  DATABASE_DIRECT_URL: z.string().optional(),
  DEMO_PASSWORD: z.string().optional(),
  /** `1`: seed the demo tenants and users in production too. */
  SEED_DEMO: z
    .string()
    .optional()
    .transform((v) => v === '1'),
  /** `1`: one reverse proxy in front (client IP from X-Forwarded-For, decision 091). */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v) => v === '1'),
})

export type ServerEnv = z.infer<typeof ServerEnvSchema> & { dataDir: string }

/** The server's own variables, checked once: a typo is a clear error naming the variable. */
export function parseServerEnv(source: EnvSource = process.env): ServerEnv {
  const result = ServerEnvSchema.safeParse(source)
  if (!result.success) {
    const first = result.error.issues[0]
    const name = first?.path.join('.') ?? ''
    throw new Error(
      `Invalid configuration: ${name} ${first?.message ?? ''} (got "${String(source[name] ?? '').slice(0, 20)}")`.trim(),
    )
  }
  return { ...result.data, dataDir: path.resolve(result.data.WA_DATA_DIR ?? path.join(projectRoot, '.data')) }
}

/** Every variable ServerEnvSchema reads: tests/integration/env-example.test.ts keeps .env.example in step. */
export const SERVER_ENV_VARIABLES: readonly string[] = Object.keys(ServerEnvSchema.shape)

/** The directory holding package.json: `..` from server/*.ts, `../..` from the compiled build/server/*.js. */
export const projectRoot = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir)
  return dir
})()
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
function loadDevSecrets(dataDir: string): DevSecrets {
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
function embeddedPgPassword(dataDir: string): string {
  const file = path.join(dataDir, 'pg-password')
  fs.mkdirSync(dataDir, { recursive: true })
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim()
  let legacy: string | undefined
  try {
    legacy = (JSON.parse(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8')) as { EMBEDDED_PG_PASSWORD?: string })
      .EMBEDDED_PG_PASSWORD
  } catch {
    legacy = undefined
  }
  const password = legacy ?? randomBytes(18).toString('base64url')
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 })
  return password
}

/**
 * Production never runs on generated secrets: one clear message naming the variable, thrown so
 * each entry decides how to end (start and the CLIs exit 1; an in-process caller gets the code).
 */
export class MissingProductionSecret extends Error {
  constructor(variable: string, why: string) {
    super(`Cannot start in production: ${variable} ${why}.`)
    this.name = 'MissingProductionSecret'
  }
}

function failProduction(variable: string, why: string): never {
  throw new MissingProductionSecret(variable, why)
}

/**
 * Fills `env` (the process's environment unless a caller passes its own) with JWT_SECRET /
 * WA_ENCRYPTION_KEYS (dev: generated once, with a warning; production: required) and returns the
 * demo password.
 */
export function prepareSecrets(env: EnvSource = process.env): { demoPassword: string; embeddedPgPassword: string } {
  const { NODE_ENV, dataDir, DEMO_PASSWORD } = parseServerEnv(env)
  if (NODE_ENV === 'production') {
    const jwt = env.JWT_SECRET
    if (!jwt) failProduction('JWT_SECRET', 'is not set')
    if (Buffer.byteLength(jwt, 'utf8') < 32) failProduction('JWT_SECRET', 'must be at least 32 bytes')
    if (!env.WA_ENCRYPTION_KEYS) failProduction('WA_ENCRYPTION_KEYS', 'is not set')
    return {
      demoPassword: DEMO_PASSWORD ?? randomBytes(12).toString('base64url'),
      embeddedPgPassword: embeddedPgPassword(dataDir),
    }
  }
  const dev = loadDevSecrets(dataDir)
  const generated: string[] = []
  if (!env.JWT_SECRET) {
    env.JWT_SECRET = dev.JWT_SECRET
    generated.push('JWT_SECRET')
  }
  if (!env.WA_ENCRYPTION_KEYS) {
    env.WA_ENCRYPTION_KEYS = dev.WA_ENCRYPTION_KEYS
    generated.push('WA_ENCRYPTION_KEYS')
  }
  if (generated.length > 0) {
    note(
      `WARNING: using development ${generated.join(' and ')} from ${path.join(dataDir, 'secrets.json')} (set them in production).`,
    )
  }
  return { demoPassword: DEMO_PASSWORD ?? dev.DEMO_PASSWORD, embeddedPgPassword: embeddedPgPassword(dataDir) }
}

/**
 * DATABASE_URL when set; otherwise the embedded PostgreSQL in .data/pg (started if needed, and
 * stopped by `stop()` only if this process started it). Sets DATABASE_URL in `env`. `directUrl` is
 * DATABASE_DIRECT_URL (the same database without PgBouncer in between) or the same URL, for work
 * that needs a session (migrations hold their lock for the whole run).
 */
export async function resolveDatabase(
  env: EnvSource = process.env,
): Promise<{ databaseUrl: string; directUrl: string; embedded: boolean; stop: () => Promise<void> }> {
  const { embeddedPgPassword } = prepareSecrets(env)
  const { DATABASE_URL, DATABASE_DIRECT_URL, EMBEDDED_PG_PORT, dataDir } = parseServerEnv(env)
  if (DATABASE_URL)
    return { databaseUrl: DATABASE_URL, directUrl: DATABASE_DIRECT_URL ?? DATABASE_URL, embedded: false, stop: async () => {} }
  const handle = await startEmbeddedPg({
    dataDir: path.join(dataDir, 'pg'),
    port: EMBEDDED_PG_PORT,
    password: embeddedPgPassword,
    log: note,
  })
  await ensureDatabase(handle.serverUrl, 'whatsapp_pro')
  const databaseUrl = handle.databaseUrl('whatsapp_pro')
  env.DATABASE_URL = databaseUrl
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
export function verifiedDemoPasswords(env: EnvSource = process.env): VerifiedDemoPasswords {
  const { dataDir } = parseServerEnv(env)
  const file = path.join(dataDir, 'demo-passwords-verified.json')
  const secret = env.JWT_SECRET ?? ''
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
