import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_ENCRYPTION_KEYS } from '../utils/app'
import { parseSetCookies, seedAuth, signHs } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'

/**
 * Canary secrets: a JWT secret, a password, a wrong password, a minted API token and a session
 * id are planted; the sign-in, token and API flows run against the built app in a CHILD process
 * (so everything it logs, pino included, is captured at debug level); none may appear in any
 * captured output, in any response other than the one that legitimately carries it, or in the
 * database.
 */
const root = path.resolve(__dirname, '../..')
const tag = randomBytes(6).toString('hex')
const CANARY_JWT_SECRET = `CANARY-JWT-SECRET-${tag}-0123456789abcdef`
const CANARY_PASSWORD = `CANARY-PASSWORD-${tag}`
const CANARY_WRONG_PASSWORD = `CANARY-WRONG-${tag}`

let child: ChildProcess
let url = ''
let output = ''
let tmp = ''
const responses: Array<{ what: string; text: string }> = []

async function record(what: string, res: Response): Promise<{ res: Response; text: string }> {
  const text = await res.text()
  const headers = [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n')
  responses.push({ what, text: `${headers}\n\n${text}` })
  return { res, text }
}

beforeAll(async () => {
  await seedAuth(testDb(), CANARY_PASSWORD)
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-'))
  const launcher = path.join(tmp, 'serve.mts')
  fs.writeFileSync(
    launcher,
    `import { pathToFileURL } from 'node:url'
const build = await import(pathToFileURL(${JSON.stringify(path.join(root, 'build/index.js'))}).href)
const { createHttpApp } = await import(${JSON.stringify(path.join(root, 'server/http-app.ts'))})
const booted = await build.entry.module.bootServices({ port: 0 })
const app = createHttpApp({ build, routers: booted.routers })
const server = app.listen(0, '127.0.0.1', () => process.stdout.write('LISTENING ' + server.address().port + '\\n'))
process.on('SIGTERM', async () => { server.close(); await build.entry.module.shutdownServices(); process.exit(0) })
`,
  )
  child = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), launcher], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      DATABASE_URL: process.env.DATABASE_URL,
      JWT_SECRET: CANARY_JWT_SECRET,
      WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
      WA_DATA_DIR: tmp,
      LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const collect = (b: Buffer) => {
    output += b.toString('utf8')
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`app did not start:\n${output}`)), 60_000)
    const check = () => {
      const m = /LISTENING (\d+)/.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    child.stdout!.on('data', check)
    child.once('exit', () => reject(new Error(`app exited:\n${output}`)))
  })
  url = `http://127.0.0.1:${port}`
})

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
  }
  fs.rmSync(tmp, { recursive: true, force: true })
})

const formPost = (pathName: string, body: Record<string, string>, cookie?: string) =>
  fetch(`${url}${pathName}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: url, 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(body),
  })

describe('canary secrets never leak', () => {
  it('run the flows, then find no canary in logs, responses or the database', async () => {
    await record('login page', await fetch(`${url}/login`))
    await record('wrong password', await formPost('/login', { email: 'admin@macrea.test', password: CANARY_WRONG_PASSWORD }))
    await record('unknown user', await formPost('/login', { email: `nobody-${tag}@macrea.test`, password: CANARY_PASSWORD }))
    const { res: loginRes } = await record(
      'login',
      await formPost('/login', { email: 'admin@macrea.test', password: CANARY_PASSWORD }),
    )
    expect(loginRes.status).toBe(302)
    const sessionId = parseSetCookies(loginRes).find((c) => c.name === '__Host-wa_session')!.value
    const cookie = `__Host-wa_session=${sessionId}`
    // The session id legitimately travels in that one Set-Cookie header only.
    responses.pop()

    await record('tokens page', await fetch(`${url}/settings/api-tokens`, { headers: { cookie } }))
    const mint = await formPost('/settings/api-tokens', { intent: 'mint', name: 'canary', ttl: '1d' }, cookie)
    expect(mint.status).toBe(200)
    const mintHtml = await mint.text()
    const minted = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/.exec(mintHtml)?.[0]
    expect(minted).toBeDefined()
    // (the mint response is the one place the token may appear: it is not recorded)

    await record('tokens page after mint', await fetch(`${url}/settings/api-tokens`, { headers: { cookie } }))
    await record(
      'api with token',
      await fetch(`${url}/api/settings/features`, { headers: { authorization: `Bearer ${minted}` } }),
    )
    await record(
      'api foreign tenant',
      await fetch(`${url}/api/wa/qr/status`, {
        headers: { authorization: `Bearer ${minted}`, 'x-tenant': 'test_tenant_blocked' },
      }),
    )
    await record('api tampered', await fetch(`${url}/api/settings/features`, { headers: { authorization: `Bearer ${minted}x` } }))
    await record(
      'api wrong secret',
      await fetch(`${url}/api/settings/features`, {
        headers: { authorization: `Bearer ${await signHs({ sub: 'x' }, { secret: `${CANARY_JWT_SECRET}-other` })}` },
      }),
    )
    await record(
      'api csrf',
      await fetch(`${url}/api/wa/disconnect`, {
        method: 'POST',
        headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/json' },
        body: '{}',
      }),
    )
    const row = await testDb().selectFrom('api_tokens').select('jti').where('name', '=', 'canary').executeTakeFirstOrThrow()
    await record('revoke', await formPost('/settings/api-tokens', { intent: 'revoke', jti: row.jti }, cookie))
    await record(
      'api with revoked token',
      await fetch(`${url}/api/settings/features`, { headers: { authorization: `Bearer ${minted}` } }),
    )
    await record('logout', await formPost('/logout', {}, cookie))
    await record('api after logout', await fetch(`${url}/api/settings/features`, { headers: { cookie } }))

    // Give the child a moment to flush its logs.
    await new Promise((r) => setTimeout(r, 300))
    const dump = JSON.stringify({
      audit: await testDb().selectFrom('audit_log').selectAll().execute(),
      sessions: await testDb().selectFrom('sessions').selectAll().execute(),
      tokens: await testDb().selectFrom('api_tokens').selectAll().execute(),
      counters: await testDb().selectFrom('rate_limit_counters').selectAll().execute(),
      users: await testDb().selectFrom('users').selectAll().execute(),
    })
    const canaries: Record<string, string> = {
      'JWT secret': CANARY_JWT_SECRET,
      password: CANARY_PASSWORD,
      'wrong password': CANARY_WRONG_PASSWORD,
      'minted token': minted!,
      'minted token signature': minted!.split('.')[2]!,
      'session id': sessionId,
    }
    const leaks: string[] = []
    for (const [name, value] of Object.entries(canaries)) {
      if (output.includes(value)) leaks.push(`${name} in process output`)
      if (dump.includes(value)) leaks.push(`${name} in the database`)
      for (const r of responses) if (r.text.includes(value)) leaks.push(`${name} in response "${r.what}"`)
    }
    expect(leaks).toEqual([])
    // The flows really ran and were audited (the test would be vacuous otherwise).
    expect(dump).toContain('auth.token.mint')
    expect(dump).toContain('auth.token.revoke')
    expect(dump).toContain('auth.logout')
    expect(dump).toContain('authz.tenant')
  })
})
