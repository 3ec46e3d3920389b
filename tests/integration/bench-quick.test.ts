import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

/**
 * `npm run bench -- --quick` end to end against this file's database: it exits 0 and prints
 * every row of the table (each figure the issue asks for), and writes its figures to the
 * gitignored .bench/, not to a tracked file. A smoke test of the harness only: the figures of
 * a quick run on a shared machine are not asserted.
 */
const run = promisify(execFile)
const root = path.resolve(__dirname, '../..')
const resultsFile = path.join(root, '.bench/results-quick.json')

describe('npm run bench -- --quick', () => {
  it('runs every phase and prints the whole table', { timeout: 180_000 }, async () => {
    const startedAt = Date.now()
    const { stdout } = await run(
      process.execPath,
      [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'tests/bench/bench.ts', '--quick'],
      {
        cwd: root,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'development', DATABASE_URL: process.env.DATABASE_URL },
        timeout: 170_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    )
    const rows = stdout
      .split('\n')
      .filter((l) => l.startsWith('| '))
      .map((l) => l.split('|')[1]!.trim())
    const expected = [
      'no-op Remix route',
      'static file (/favicon.svg)',
      'status, live link attempt (5 tenants)',
      'status, connected (5 tenants)',
      'status, expired attempt (5 tenants)',
      'status, not linked (5 tenants)',
      'status, connected, 1 tenant in rotation',
      'status, connected, 20 tenants in rotation',
      'status, live link attempt (5 tenants): vs no-op',
      'status, connected, 20 tenants in rotation: vs no-op',
      'upstream, live attempts, 1 process',
      'upstream, connected, 20 tenants in rotation, within its phase',
      'two processes, live attempts',
      'two processes, connected',
      '500 SSE streams: opened',
      '500 SSE streams: heap per stream after GC',
      '500 SSE streams: fan-out of a status change',
      '500 SSE streams: heap after close and GC',
      'app process at idle after load',
    ]
    for (const figure of expected) expect(rows).toContain(figure)
    expect(rows.some((r) => r.startsWith('heap after GC over a soak of '))).toBe(true)
    // The connected rate over a span (a whole reconcile interval in a full run).
    expect(rows.some((r) => r.startsWith('upstream, 20 connected, 1 process, over '))).toBe(true)
    expect(rows.some((r) => r.startsWith('upstream, 20 connected, 2 processes, over '))).toBe(true)
    // CPU per request beside requests/s, ratios to the no-op and the static file.
    expect(stdout).toMatch(/\| no-op Remix route +\| \d+ req\/s, p50 \d+ ms, p99 \d+ ms, CPU \d+\.\d{3} ms\/req/)
    expect(stdout).toMatch(/x req\/s, [\d.]+x p99, [\d.]+x CPU\/req; vs static [\d.]+x req\/s/)
    expect(stdout).toContain('figures in .bench/results-quick.json')
    expect(fs.statSync(resultsFile).mtimeMs).toBeGreaterThanOrEqual(startedAt)
    expect(fs.existsSync(path.join(root, 'tests/bench/results.json'))).toBe(false)
  })
})
