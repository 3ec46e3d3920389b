import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseEncryptionKeys } from '../../adapters/crypto/encryption-keys'
import { runOps } from '../utils/ops-cli'

/**
 * `npm run ops -- secrets generate`, run as operators run it (a child process). It is the first
 * command of a deployment, so it runs where nothing exists yet: no DATABASE_URL, no secrets, an
 * empty data directory, NODE_ENV=production. Had it opened the database (OpsContext.db()), it
 * would have started an embedded PostgreSQL under WA_DATA_DIR (or, in production without
 * JWT_SECRET, refused to start): the data directory must stay empty.
 */

const dataDirs: string[] = []
function emptyDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-secrets-'))
  dataDirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true })
})

/** A fresh machine: no database, no secrets at all. */
const bare = (dataDir: string, nodeEnv = 'production') => ({
  NODE_ENV: nodeEnv,
  DATABASE_URL: undefined,
  JWT_SECRET: undefined,
  WA_ENCRYPTION_KEYS: undefined,
  WA_DATA_DIR: dataDir,
})

function envLines(stdout: string): Record<string, string> {
  const lines = stdout.trim().split('\n')
  expect(lines).toHaveLength(2)
  return Object.fromEntries(
    lines.map((line) => {
      const match = /^([A-Z_]+)=(\S+)$/.exec(line)
      expect(match, `not an env-file line: ${line.slice(0, 20)}…`).not.toBeNull()
      return [match![1]!, match![2]!]
    }),
  )
}

function expectValid(values: Record<string, string>): void {
  expect(Object.keys(values).sort()).toEqual(['JWT_SECRET', 'WA_ENCRYPTION_KEYS'])
  expect(Buffer.byteLength(values.JWT_SECRET!, 'utf8')).toBeGreaterThanOrEqual(32)
  const ring = parseEncryptionKeys({ WA_ENCRYPTION_KEYS: values.WA_ENCRYPTION_KEYS })
  expect(ring.keyMaterial(ring.currentKeyId)).toHaveLength(32)
}

describe('ops secrets generate', { timeout: 120_000 }, () => {
  it('prints valid JWT_SECRET and WA_ENCRYPTION_KEYS lines on a bare production machine, never touching a database', async () => {
    const dirs = [emptyDataDir(), emptyDataDir()]
    const [first, second] = await Promise.all(dirs.map((dir) => runOps(['secrets', 'generate'], { env: bare(dir) })))
    for (const run of [first!, second!]) {
      expect(run.stderr).toMatch(/secret manager/)
      expect(run.code).toBe(0)
    }
    const a = envLines(first!.stdout)
    const b = envLines(second!.stdout)
    expectValid(a)
    expectValid(b)
    // Fresh randomness each run.
    expect(a.JWT_SECRET).not.toBe(b.JWT_SECRET)
    expect(a.WA_ENCRYPTION_KEYS).not.toBe(b.WA_ENCRYPTION_KEYS)
    // No embedded PostgreSQL, no pg-password, no development secrets.json: nothing was opened.
    for (const dir of dirs) expect(fs.readdirSync(dir)).toEqual([])
    // The secrets go to stdout only: the notes on stderr never repeat them.
    expect(first!.stderr).not.toContain(a.JWT_SECRET)
    expect(first!.stderr).not.toContain(a.WA_ENCRYPTION_KEYS)
  })

  it('--json prints the same two values as JSON; a DATABASE_URL nobody answers is never dialled', async () => {
    const dir = emptyDataDir()
    const run = await runOps(['secrets', 'generate', '--json'], {
      env: { ...bare(dir, 'development'), DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none' },
    })
    expect(run.stderr).toMatch(/secret manager/)
    expect(run.code).toBe(0)
    const values = JSON.parse(run.stdout) as Record<string, string>
    expectValid(values)
    expect(fs.readdirSync(dir)).toEqual([])
  })
})
