import os from 'node:os'
import type { Kysely } from 'kysely'
import type { CoreServices } from '../../app/core-services.server'
import type { Env } from '../../app/utils/env.server'
import type { Database } from '../../db/schema'
import type { Actor } from '../../domain/whatsapp'
import type { CommandDatabase } from '../database'
import type { CliIo } from '../cli-io'

// Heavy modules (pg, Kysely, zod schemas, the Green-API client) are imported when a command
// needs them, so `--help` and argument errors answer fast.

/**
 * What every `npm run ops` command shares: one database connection (DATABASE_URL, or the
 * embedded PostgreSQL started for the command and stopped after), the use cases' services over
 * it (`core()`: the vault of WA_ENCRYPTION_KEYS among them), the audit log and the operator
 * identity (`operator:<os user>`).
 *
 * Output rules: results go to stdout (tables, or JSON with --json), notes and errors to stderr.
 * Nothing secret is ever printed, except a value the operator asked for and must store
 * (a generated password, a new encryption key), once, on stdout, with a warning on stderr.
 */

/** A failure the operator can act on: one line on stderr, then `exitCode`. */
export class OpsError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
    this.name = 'OpsError'
  }
}

export const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/
export const INSTANCE_ID = /^[0-9]{1,20}$/

export interface Io {
  out(line: string): void
  err(line: string): void
  /** Text as it is (log lines that end with their own newline). */
  raw(text: string): void
  /** Redraws the progress line in place (terminal only; see isTTY). */
  progress(text: string | null): void
  /** Reads stdin to the end (for secrets passed with --…-stdin). */
  readStdin(): Promise<string>
  isTTY: boolean
}

/** The line-oriented view of a command's streams. */
export function opsIo(io: CliIo): Io {
  return {
    out: (line) => io.stdout(`${line}\n`),
    err: (line) => io.stderr(`${line}\n`),
    raw: (text) => io.stderr(text),
    progress: (text) => io.stderr(text === null ? '\n' : `\r\x1b[2K${text}`),
    readStdin: io.readStdin ?? (async () => ''),
    isTTY: io.isTTY ?? false,
  }
}

/** The operator running the command: `operator:<os user>` in the audit log, a safe alphabet only. */
function operatorOf(env: Record<string, string | undefined>): Actor & { kind: 'operator' } {
  let name: string | undefined
  try {
    name = os.userInfo().username
  } catch {
    name = undefined
  }
  name = (name || env.USER || env.LOGNAME || 'unknown').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64)
  return { kind: 'operator', name }
}

export class OpsContext {
  /** The operator as the use cases take it. */
  readonly operator: Actor & { kind: 'operator' }
  /** The same, as audit entries label it (`operator:<os user>`). */
  readonly actor: string
  /** Whether WA_ENCRYPTION_KEYS came from the environment (else: the development key ring in .data). */
  readonly keysFromEnvironment: boolean
  #database: Promise<CommandDatabase> | undefined
  #core: CoreServices | undefined

  /**
   * `env` is the command's configuration; development secrets are filled into it (never into
   * process.env of an in-process caller).
   */
  constructor(
    readonly io: Io,
    readonly env: Record<string, string | undefined>,
  ) {
    this.operator = operatorOf(env)
    this.actor = `operator:${this.operator.name}`
    this.keysFromEnvironment = Boolean(env.WA_ENCRYPTION_KEYS)
  }

  /** Opens the database on first use (and brings an embedded one to the latest schema). */
  async db(): Promise<Kysely<Database>> {
    this.#database ??= import('../database').then(({ openCommandDatabase }) => openCommandDatabase(this.env, 4))
    return (await this.#database).db
  }

  /**
   * The use cases' services (the ones the pages call), over this command's database and the
   * same configuration as the app: a command that changes what a page changes goes through here.
   */
  async core(): Promise<CoreServices> {
    if (this.#core) return this.#core
    const db = await this.db()
    const [{ parseEnv }, { buildCoreServices }, { createLogger }, { EncryptionKeyConfigError }] = await Promise.all([
      import('../../app/utils/env.server'),
      import('../../app/core-services.server'),
      import('../../app/utils/logger.server'),
      import('../../adapters/crypto/encryption-keys'),
    ])
    let env: Env
    try {
      env = parseEnv(this.env)
    } catch (e) {
      throw new OpsError(e instanceof EncryptionKeyConfigError || e instanceof Error ? e.message : String(e))
    }
    // Warnings of the use cases (a failed logout, …) go to stderr, never among the results on stdout.
    const logger = createLogger(env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL, { write: (s: string) => this.io.raw(s) })
    this.#core = buildCoreServices(env, { db, logger })
    return this.#core
  }

  /** Appends one audit entry with the operator as actor. */
  async audit(entry: {
    action: string
    tenantId?: string | null
    outcome?: 'success' | 'failure' | 'denied'
    details?: Record<string, unknown>
  }): Promise<void> {
    const db = await this.db()
    const { KyselyAuditLog } = await import('../../adapters/kysely/kysely-audit-log')
    await new KyselyAuditLog(db).append({
      actor: this.actor,
      tenantId: entry.tenantId ?? null,
      action: entry.action,
      outcome: entry.outcome ?? 'success',
      ip: null,
      details: entry.details ?? {},
    })
  }

  async requireTenant(tenantId: string): Promise<{ id: string; name: string }> {
    if (!TENANT_ID.test(tenantId)) {
      throw new OpsError(`Invalid tenant id "${tenantId.slice(0, 64)}": expected ^[a-z0-9][a-z0-9_-]{0,62}$.`)
    }
    const db = await this.db()
    const row = await db.selectFrom('tenants').select(['id', 'name']).where('id', '=', tenantId).executeTakeFirst()
    if (!row) throw new OpsError(`Unknown tenant "${tenantId}" (see: npm run ops -- tenants list).`)
    return row
  }

  async requireUser(email: string): Promise<{ id: string; email: string; name: string }> {
    const db = await this.db()
    const normalized = normalizeEmail(email)
    const row = await db.selectFrom('users').select(['id', 'email', 'name']).where('email', '=', normalized).executeTakeFirst()
    if (!row) throw new OpsError(`Unknown user "${normalized}" (create it with: npm run ops -- users create ${normalized}).`)
    return row
  }

  async close(): Promise<void> {
    const database = this.#database
    this.#database = undefined
    this.#core = undefined
    await database?.then(
      (d) => d.close(),
      () => {},
    )
  }
}

export function normalizeEmail(email: string): string {
  const e = email.trim().toLowerCase()
  if (e.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(e)) throw new OpsError(`Invalid e-mail "${email.slice(0, 80)}".`)
  return e
}

/** `on`/`off` (also yes/no, true/false, 1/0) → boolean. */
export function parseOnOff(value: string, flag: string): boolean {
  const v = value.trim().toLowerCase()
  if (['on', 'yes', 'true', '1'].includes(v)) return true
  if (['off', 'no', 'false', '0'].includes(v)) return false
  throw new OpsError(`${flag} expects on or off (got "${value.slice(0, 16)}").`, 2)
}

/** Fixed-width table for humans; `--json` callers print the rows instead. */
export function table(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string[] {
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : v instanceof Date ? v.toISOString() : String(v))
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)))
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))]
}

export function printRows(
  ctx: OpsContext,
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: readonly string[],
  opts: { json?: boolean; empty?: string },
): void {
  if (opts.json) {
    ctx.io.out(JSON.stringify(rows, null, 2))
    return
  }
  if (rows.length === 0) {
    ctx.io.err(opts.empty ?? 'Nothing to list.')
    return
  }
  for (const l of table(rows, columns)) ctx.io.out(l)
}

/** First line of stdin, trimmed (a secret piped in: `printf %s "$TOKEN" | npm run ops -- …`). */
export async function readSecretFromStdin(ctx: OpsContext, what: string): Promise<string> {
  const raw = await ctx.io.readStdin()
  const value = raw.split(/\r?\n/)[0]?.trim() ?? ''
  if (value === '') throw new OpsError(`No ${what} on stdin.`, 2)
  return value
}
