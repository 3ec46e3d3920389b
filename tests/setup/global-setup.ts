import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { migrateToLatest } from '../../db/migrate'
import { startEmbeddedPg, type EmbeddedPgHandle } from '../../server/embedded-pg'
import { freePort } from '../utils/free-port'

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string
  }
}

const root = path.resolve(__dirname, '../..')
export const TEMPLATE_DB = 'app_test_template'

/** What the first project's setup started, shared with the second (see `setup`). */
interface SharedSetup {
  projects: number
  ready: Promise<{ serverUrl: string; stop: () => Promise<void> }>
}
const SHARED = Symbol.for('whatsapp-pro.tests.global-setup')

/**
 * The integration and e2e projects each declare this setup (the unit project does not, so it
 * starts no PostgreSQL and builds nothing). Vitest loads it once per project, in the main
 * process: the work is shared through globalThis so a run with both projects starts one server
 * and builds once; the last project's teardown stops it.
 */
export default async function setup(project: TestProject) {
  const g = globalThis as { [SHARED]?: SharedSetup }
  const shared = (g[SHARED] ??= { projects: 0, ready: startOnce() })
  shared.projects++
  const { serverUrl, stop } = await shared.ready
  project.provide('pgServerUrl', serverUrl)
  return async () => {
    if (--shared.projects > 0) return
    delete g[SHARED]
    await stop()
  }
}

/**
 * Once per run: a throwaway embedded PostgreSQL (fsync off) or TEST_DATABASE_SERVER_URL,
 * a migrated template database that every test file clones, and a fresh app build for the
 * HTTP-level tests.
 */
async function startOnce(): Promise<{ serverUrl: string; stop: () => Promise<void> }> {
  let handle: EmbeddedPgHandle | undefined
  let serverUrl = process.env.TEST_DATABASE_SERVER_URL
  if (!serverUrl) {
    const dataDir = path.join(root, '.data', `test-pg-${process.pid}`)
    fs.rmSync(dataDir, { recursive: true, force: true })
    handle = await startEmbeddedPg({
      dataDir,
      port: await freePort(),
      password: 'test-only-password',
      flags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
    })
    serverUrl = handle.serverUrl
  }
  const admin = new pg.Client({ connectionString: `${serverUrl}/postgres` })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`)
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`)
  await admin.end()
  const db = new Kysely<any>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: `${serverUrl}/${TEMPLATE_DB}`, max: 1 }) }),
  })
  await migrateToLatest(db, `${serverUrl}/${TEMPLATE_DB}`)
  await db.destroy()

  if (process.env.VITEST_SKIP_BUILD !== '1') {
    execFileSync(process.execPath, [path.join(root, 'node_modules/@remix-run/dev/dist/cli.js'), 'build'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, NODE_ENV: 'production' },
    })
    // The compiled server too (what production runs; tests/integration/production-deps.test.ts
    // reads its imports): esbuild, well under a second.
    execFileSync(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'server/compile-server.ts'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    })
  }

  return {
    serverUrl,
    async stop() {
      if (!handle) return
      await handle.stop()
      fs.rmSync(path.join(root, '.data', `test-pg-${process.pid}`), { recursive: true, force: true })
    },
  }
}
