import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { hashPassword, verifyPassword } from '../../adapters/auth/scrypt-password-hasher'
import { DEMO_USERS } from '../../db/seed'
import { testDb } from '../utils/db'
import { startAppProcess } from './reliability-support'

// `npm start` seeds the demo users at every start; a restart with the same DEMO_PASSWORD must
// not verify their hashes with scrypt again (≈ 0.1 s of CPU each). Counted, not timed: a
// preload prints one line per scrypt call in the app process.
const counter = path.resolve(__dirname, '../fixtures/count-scrypt.mjs')
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-demo-seed-'))

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }))

/** Starts the app (`server/start.ts`), waits for it to serve, stops it; returns the scrypt calls of the start. */
async function startOnce(demoPassword: string): Promise<number> {
  const app = await startAppProcess({ WA_DATA_DIR: dataDir, DEMO_PASSWORD: demoPassword, NODE_OPTIONS: `--import=${counter}` })
  const calls = app
    .output()
    .split('\n')
    .filter((l) => l === '[scrypt-call]').length
  await app.stop()
  return calls
}

async function demoHashesVerify(password: string): Promise<boolean[]> {
  const rows = await testDb()
    .selectFrom('users')
    .select(['email', 'password_hash'])
    .where(
      'email',
      'in',
      DEMO_USERS.map((u) => u.email),
    )
    .execute()
  expect(rows).toHaveLength(DEMO_USERS.length)
  return Promise.all(rows.map((r) => verifyPassword(password, r.password_hash ?? '')))
}

describe('demo users at start', () => {
  it('a restart with the same password runs no scrypt; a new password, or a hash changed since, is verified and rewritten', async () => {
    const first = await startOnce('demo-password-one')
    expect(first).toBeGreaterThanOrEqual(DEMO_USERS.length)
    expect(await demoHashesVerify('demo-password-one')).toEqual(DEMO_USERS.map(() => true))

    expect(await startOnce('demo-password-one')).toBe(0)
    expect(await demoHashesVerify('demo-password-one')).toEqual(DEMO_USERS.map(() => true))

    // DEMO_PASSWORD changed: each user verified (no match), then hashed again.
    expect(await startOnce('demo-password-two')).toBe(2 * DEMO_USERS.length)
    expect(await demoHashesVerify('demo-password-two')).toEqual(DEMO_USERS.map(() => true))

    // An operator reset one demo user's password: only that one is verified and restored.
    await testDb()
      .updateTable('users')
      .set({ password_hash: await hashPassword('operator-choice') })
      .where('email', '=', DEMO_USERS[0]!.email)
      .execute()
    expect(await startOnce('demo-password-two')).toBe(2)
    expect(await demoHashesVerify('demo-password-two')).toEqual(DEMO_USERS.map(() => true))
  }, 180_000)
})
