import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { decodeJwt } from 'jose'
import { afterAll, describe, expect, it } from 'vitest'
import type { CliIo } from '../../server/cli-io'
import { runOps } from '../../server/ops'
import { runToken } from '../../server/token'
import { TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET } from '../utils/app'
import { seedAuth } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'

/**
 * The command-line entries as functions: `runOps(argv, io)` and `runToken(argv, io)` take the
 * arguments after the command name and the streams, return the exit code, and read their
 * configuration from `io.env` (never from this process's environment).
 */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-in-process-'))
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }))

function capture(env: Record<string, string | undefined>, stdin = ''): CliIo & { out: () => string; err: () => string } {
  let out = ''
  let err = ''
  return {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    readStdin: async () => stdin,
    env: {
      NODE_ENV: 'test',
      USER: 'in-process-tester',
      DATABASE_URL: process.env.DATABASE_URL,
      JWT_SECRET: TEST_JWT_SECRET,
      WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
      WA_DATA_DIR: dataDir,
      ...env,
    },
    out: () => out,
    err: () => err,
  }
}

describe('runOps(argv, io)', () => {
  it('runs a command against the database io.env names and returns its exit code', async () => {
    const tenant = `inproc-${Date.now().toString(36)}`
    const create = capture({})
    expect(await runOps(['tenants', 'create', tenant, '--name', 'In process'], create)).toBe(0)
    expect(create.err()).toContain(`Tenant "${tenant}" created`)

    const list = capture({})
    expect(await runOps(['tenants', 'list', '--json'], list)).toBe(0)
    expect((JSON.parse(list.out()) as Array<{ id: string }>).map((t) => t.id)).toContain(tenant)
  })

  it('answers usage errors with 2 and help with 0, on the io streams', async () => {
    const bad = capture({})
    expect(await runOps(['tenants', 'create'], bad)).toBe(2)
    expect(bad.err()).toMatch(/required option .--name/)
    const help = capture({})
    expect(await runOps([], help)).toBe(0)
    expect(help.out()).toContain('Usage: ops')
  })

  it('reads a secret from io.readStdin', async () => {
    const email = `inproc-${Date.now().toString(36)}@example.test`
    const run = capture({}, 'a-long-enough-password\n')
    expect(await runOps(['users', 'create', email, '--password-stdin'], run)).toBe(0)
    expect(run.out()).toBe('') // a provided password is never echoed
    const row = await testDb().selectFrom('users').select('email').where('email', '=', email).executeTakeFirst()
    expect(row?.email).toBe(email)
  })
})

describe('runToken(argv, io)', () => {
  it('prints the JWT alone on stdout and signs it with io.env.JWT_SECRET', async () => {
    await seedAuth(testDb())
    const run = capture({})
    expect(await runToken(['--tenant', 'macrea'], run)).toBe(0)
    const jwt = run.out().trim()
    expect(jwt.split('.')).toHaveLength(3)
    expect(decodeJwt(jwt).tenant_id).toBe('macrea')
    const { jwtVerify } = await import('jose')
    await expect(jwtVerify(jwt, new TextEncoder().encode(TEST_JWT_SECRET))).resolves.toBeTruthy()
    const bad = capture({})
    expect(await runToken(['--tenant', 'no-such-tenant-here'], bad)).toBe(1)
    expect(bad.out()).toBe('')
  })

  it('a production run without its secrets answers 1 with the variable named, and does not end the caller', async () => {
    const run = capture({ NODE_ENV: 'production', JWT_SECRET: undefined })
    expect(await runToken(['--tenant', 'macrea'], run)).toBe(1)
    expect(run.err()).toContain('Cannot start in production: JWT_SECRET is not set.')
    expect(run.out()).toBe('')
    const ops = capture({ NODE_ENV: 'production', WA_ENCRYPTION_KEYS: undefined })
    expect(await runOps(['tenants', 'list'], ops)).toBe(1)
    expect(ops.err()).toContain('Cannot start in production: WA_ENCRYPTION_KEYS is not set.')
  })
})
