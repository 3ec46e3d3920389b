import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../utils/app'
import { seedAuth, type SeededUsers } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { runToken } from '../utils/ops-cli'

/**
 * `npm run token` (server/token.ts) against this file's database: the JWT alone on the last
 * stdout line, accepted by the app, recorded (revocable); unknown tenant/user → non-zero exit.
 */
let app: TestApp
let users: SeededUsers
let dataDir: string

beforeAll(async () => {
  users = await seedAuth(testDb())
  app = await startTestApp()
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'token-cli-'))
})
afterAll(async () => {
  await app?.close()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

/** `npm run token -- …` in this process; `childProcess` runs it as a user does (stdout, exit code). */
const token = (args: string[], opts: { childProcess?: boolean } = {}) =>
  runToken(args, { env: { WA_DATA_DIR: dataDir }, ...opts })

const features = (jwt: string) => fetch(`${app.url}/api/settings/features`, { headers: { authorization: `Bearer ${jwt}` } })

describe('npm run token', () => {
  it('prints a JWT alone on the last stdout line (tenant owner by default) that the app accepts', async () => {
    const { code, stdout, stderr } = await token(['--tenant', 'macrea'], { childProcess: true })
    expect(code).toBe(0)
    const lines = stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    const jwt = lines.at(-1)!
    expect(jwt).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
    expect(stderr).not.toContain(jwt)
    expect(stderr).not.toContain(TEST_JWT_SECRET)
    const claims = decodeJwt(jwt)
    expect(claims).toMatchObject({ sub: users.owner, tenant_id: 'macrea' })
    expect(claims.exp! - claims.iat!).toBe(3600)
    const res = await features(jwt)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ whatsapp_enabled: true })
    // Recorded, hence revocable by jti.
    const row = await testDb()
      .selectFrom('api_tokens')
      .selectAll()
      .where('jti', '=', String(claims.jti))
      .executeTakeFirstOrThrow()
    expect(row).toMatchObject({ tenant_id: 'macrea', user_id: users.owner })
    await testDb().updateTable('api_tokens').set({ revoked_at: new Date() }).where('jti', '=', String(claims.jti)).execute()
    expect((await features(jwt)).status).toBe(401)
  }, 90_000)

  it('--email and --ttl pick the user and lifetime', async () => {
    const { code, stdout } = await token(['--tenant', 'macrea', '--email', 'member@macrea.test', '--ttl', '30m'])
    expect(code).toBe(0)
    const jwt = stdout.trimEnd().split('\n').at(-1)!
    const claims = decodeJwt(jwt)
    expect(claims.sub).toBe(users.member)
    expect(claims.exp! - claims.iat!).toBe(1800)
    expect((await features(jwt)).status).toBe(200)
  }, 90_000)

  it('unknown tenant, unknown user, non-member, malformed tenant and bad ttl exit non-zero with a clear message and no token', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--tenant', 'no_such_tenant'], /Unknown tenant "no_such_tenant"/],
      [['--tenant', 'macrea', '--email', 'ghost@macrea.test'], /Unknown user "ghost@macrea.test"/],
      [['--tenant', 'macrea', '--email', 'admin@blocked.test'], /Unknown user "admin@blocked.test" for tenant "macrea"/],
      [['--tenant', 'Bad Tenant'], /Invalid tenant id/],
      [['--tenant', 'macrea', '--ttl', 'forever'], /Invalid --ttl/],
      [[], /Missing --tenant/],
    ]
    const results = await Promise.all(cases.map(([args], i) => token(args, { childProcess: i === 0 })))
    cases.forEach(([args, message], i) => {
      const { code, stdout, stderr } = results[i]!
      expect(code, args.join(' ')).not.toBe(0)
      expect(stderr).toMatch(message)
      expect(stdout.trim()).toBe('')
    })
  }, 120_000)
})
