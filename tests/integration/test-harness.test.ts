import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/** The test harness itself, through the vitest command line a developer runs. */
const root = path.resolve(__dirname, '../..')
const vitestCli = path.join(root, 'node_modules/vitest/vitest.mjs')

function vitest(args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [vitestCli, 'run', ...args],
      // A clean environment: none of this run's VITEST_* or DATABASE_URL leaks into the child.
      {
        cwd: root,
        timeout: 120_000,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? os.tmpdir(),
          NODE_ENV: 'test',
          CI: 'true',
          NO_COLOR: '1',
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

describe('the unit tier stands alone', () => {
  it('`vitest run --project unit` passes with no PostgreSQL reachable (no global setup, no build)', async () => {
    // The global setup would connect here (nothing listens on the discard port) and fail the run.
    const run = await vitest(['--project', 'unit'], { TEST_DATABASE_SERVER_URL: 'postgres://nobody:x@127.0.0.1:9' })
    expect(run.output).toMatch(/Test Files\s+\d+ passed/)
    expect(run.code).toBe(0)
  })
})

describe('a test that logs console.error fails', () => {
  // One nested run carries the four cases (one file each, isolated as in the real suite); its
  // JSON report says how each file and test ended, and with which message.
  interface FileResult {
    name: string
    status: string
    message: string
    assertionResults: Array<{ status: string; failureMessages: string[] }>
  }
  let run: { code: number; output: string }
  let files: Map<string, FileResult>
  const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-guard-'))
  beforeAll(async () => {
    const report = path.join(reportDir, 'report.json')
    run = await vitest([
      '--config',
      'tests/fixtures/console-guard/vitest.config.ts',
      '--reporter=default',
      '--reporter=json',
      `--outputFile=${report}`,
    ])
    const results = (JSON.parse(fs.readFileSync(report, 'utf8')) as { testResults: FileResult[] }).testResults
    files = new Map(results.map((f) => [path.basename(f.name, '.check.ts'), f]))
  }, 120_000)
  afterAll(() => fs.rmSync(reportDir, { recursive: true, force: true }))
  const file = (name: string) => {
    const f = files.get(name)
    if (!f) throw new Error(`no result for ${name}.check.ts in the nested run:\n${run.output}`)
    return f
  }

  it('the run with failing cases exits non-zero, every case reported', () => {
    expect([...files.keys()].sort()).toEqual(['expected', 'in-hook', 'logs', 'missing'])
    expect(run.output).toMatch(/Test Files\s+3 failed \| 1 passed \(4\)/)
    expect(run.code).not.toBe(0)
  })

  it('an undeclared console.error fails the test, naming the line', () => {
    const logs = file('logs')
    expect(logs.status).toBe('failed')
    expect(logs.assertionResults.map((t) => t.status)).toEqual(['failed'])
    expect(logs.assertionResults[0]!.failureMessages.join('\n')).toContain(
      'console.error was called 1 time(s) without expectConsoleError(): "something broke quietly"',
    )
  })

  it('one logged while the file tears down fails the file', () => {
    const inHook = file('in-hook')
    expect(inHook.status).toBe('failed')
    expect(inHook.message).toContain('"logged while closing"')
  })

  it('a declared one passes, and a declared one that never comes fails', () => {
    const declared = file('expected')
    expect(declared.status).toBe('passed')
    expect(declared.assertionResults.map((t) => t.status)).toEqual(['passed'])
    const missing = file('missing')
    expect(missing.status).toBe('failed')
    expect(missing.assertionResults[0]!.failureMessages.join('\n')).toContain(
      'expected a console.error matching /never logged/, none was logged',
    )
  })
})

describe('tests install nothing', () => {
  it("no test file or helper runs a package manager (CI's .ci/run installs what the tests need)", () => {
    const files = fs
      .readdirSync(path.join(root, 'tests'), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(ts|mts|mjs|js|sh)$/.test(f))
    // A command that runs apt/apt-get/dpkg (an error message telling the developer what to run is fine).
    const runsInstaller = /(exec\w*|spawn\w*)\([^)]*\b(apt-get|apt|dpkg)\b/s
    const offenders = files.filter((f) => runsInstaller.test(fs.readFileSync(path.join(root, 'tests', f), 'utf8')))
    expect(offenders).toEqual([])
  })
})

describe('test files run in parallel', () => {
  it('two files meet while both run: at least two workers, even on a 2-core machine', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rendezvous-'))
    try {
      const run = await vitest(['--config', 'tests/fixtures/parallel/vitest.config.ts'], { RENDEZVOUS_DIR: dir })
      expect(run.output).toMatch(/Test Files\s+2 passed/)
      expect(run.code).toBe(0)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
