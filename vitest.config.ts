import os from 'node:os'
import { defineConfig } from 'vitest/config'

// Three tiers with fixed homes: unit (domain, no I/O), integration/contract (real PostgreSQL,
// MSW for Green-API), e2e (the built app in real Chromium). Only the two tiers that need them
// declare the global setup (PostgreSQL + the app build); it runs once when both are in the run,
// and not at all for `--project unit`.
const pgAndBuild = ['tests/setup/global-setup.ts']

/**
 * Test files in parallel: at least two, even on 2 cores (vitest's default, cores − 1, gave one).
 * The integration files mostly wait on PostgreSQL, HTTP and timers, not on the CPU, and each
 * has its own database. e2e files still run one at a time (fileParallelism: false): beside the
 * integration files they saved ~40 s of wall time but put each app process, Chromium and the
 * timing-sensitive integration files (outages, bursts, grace jobs) on the same two cores at once
 * (decision 245, amended).
 */
export const TEST_WORKERS = Math.max(2, os.availableParallelism() - 1)

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: TEST_WORKERS,
    testTimeout: 20_000,
    hookTimeout: 60_000,
    coverage: {
      provider: 'v8',
      include: ['domain/**/*.ts'],
      exclude: ['domain/**/*.test.ts', 'domain/testing/**'],
      reporter: ['text-summary'],
    },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['domain/**/*.test.ts', '**/*.unit.test.ts'],
          // Pure code over in-memory fakes (no module state, no vi.mock): one module graph for
          // all files takes the project from ~7 s to ~2 s.
          isolate: false,
          setupFiles: ['tests/setup/console-guard.ts'],
          exclude: ['node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          globalSetup: pgAndBuild,
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/e2e/**', 'node_modules/**', '**/*.unit.test.ts'],
          setupFiles: ['tests/setup/console-guard.ts', 'tests/setup/db-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // Concurrent tests of one file (only chaos-matrix has them): one operation's eleven
          // faults at once. Its cases wait on deadlines and the refresher's ticks, not the CPU;
          // five at a time (vitest's default) ran the status cases in three waves.
          maxConcurrency: 11,
        },
      },
      {
        test: {
          name: 'e2e',
          globalSetup: pgAndBuild,
          include: ['tests/e2e/**/*.test.ts'],
          setupFiles: ['tests/setup/console-guard.ts', 'tests/setup/db-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
