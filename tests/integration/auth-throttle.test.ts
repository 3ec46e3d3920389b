import { createHash } from 'node:crypto'
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../adapters/auth/scrypt-password-hasher'
import { startTestApp, type TestApp } from '../utils/app'
import { seedAuth, TEST_PASSWORD } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'

/**
 * The login throttle under real concurrency and from many client addresses (issue 13): every
 * request is a real HTTP POST /login whose TCP source address is a distinct loopback address
 * (Linux routes all of 127.0.0.0/8 to lo), so `req.ip` differs per "attacker" exactly as it would
 * for distinct clients.
 */
let app: TestApp
const db = () => testDb()

beforeAll(async () => {
  await seedAuth(db())
  app = await startTestApp()
})
afterAll(async () => {
  await app?.close()
})

interface LoginAnswer {
  status: number
  retryAfter: number | null
  body: string
}

function loginFrom(from: string, email: string, password: string): Promise<LoginAnswer> {
  const body = new URLSearchParams({ email, password }).toString()
  const { port } = new URL(app.url)
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: Number(port),
        path: '/login',
        method: 'POST',
        localAddress: from,
        agent: false,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          origin: app.url,
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const retry = res.headers['retry-after']
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: retry === undefined ? null : Number(retry),
            body: Buffer.concat(chunks).toString(),
          })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

async function newUser(email: string): Promise<void> {
  const row = await db()
    .insertInto('users')
    .values({ email, name: email, password_hash: await hashPassword(TEST_PASSWORD) })
    .returning('id')
    .executeTakeFirstOrThrow()
  await db().insertInto('memberships').values({ tenant_id: 'macrea', user_id: row.id, role: 'admin' }).execute()
}

const emailHash = (email: string) => createHash('sha256').update(email).digest('hex').slice(0, 16)

/** Password checks that actually ran (scrypt + a recorded failure) for one e-mail. */
async function verifiedFailures(email: string): Promise<number> {
  const rows = await db()
    .selectFrom('audit_log')
    .select('details')
    .where('action', '=', 'auth.login')
    .where('outcome', '=', 'failure')
    .execute()
  return rows.filter((r) => (r.details as { email_hash?: string }).email_hash === emailHash(email)).length
}

const tally = (answers: LoginAnswer[]) =>
  answers.reduce<Record<number, number>>((acc, a) => ({ ...acc, [a.status]: (acc[a.status] ?? 0) + 1 }), {})

describe('login throttle under concurrency', () => {
  it('150 concurrent sign-ins from 150 addresses, the right password at #100: refused; at most 5 passwords checked', async () => {
    const email = 'race-target@macrea.test'
    await newUser(email)
    const answers = await Promise.all(
      Array.from({ length: 150 }, (_, i) => loginFrom(`127.0.1.${i + 1}`, email, i === 99 ? TEST_PASSWORD : `wrong-${i}`)),
    )
    const counts = tally(answers)
    expect(answers[99]!.status).toBe(429)
    expect(counts[302] ?? 0).toBe(0)
    expect(counts[401] ?? 0).toBeLessThanOrEqual(5)
    expect((counts[401] ?? 0) + (counts[429] ?? 0)).toBe(150)
    expect(await verifiedFailures(email)).toBeLessThanOrEqual(5)
  })

  it('40 concurrent failures from one address: at most 20 are checked, the rest get 429', async () => {
    const from = '127.0.3.1'
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => loginFrom(from, `spray-${i}@nowhere.test`, 'Password1!')),
    )
    const counts = tally(answers)
    expect(counts[401] ?? 0).toBeLessThanOrEqual(20)
    expect(counts[429] ?? 0).toBeGreaterThanOrEqual(20)
    expect((counts[401] ?? 0) + (counts[429] ?? 0)).toBe(40)
  })
})

describe('login throttle per account and address', () => {
  it('five wrong passwords from five addresses do not lock the owner out of their own address; new addresses wait, progressively', async () => {
    const email = 'owner-home@macrea.test'
    await newUser(email)
    const home = '127.0.4.1'
    // The owner has signed in from home before: that address is known for this account.
    expect((await loginFrom(home, email, TEST_PASSWORD)).status).toBe(302)

    for (let i = 2; i <= 6; i++) expect((await loginFrom(`127.0.4.${i}`, email, `wrong-${i}`)).status).toBe(401)

    // The owner's own address still gets in…
    expect((await loginFrom(home, email, TEST_PASSWORD)).status).toBe(302)
    // …while a never-seen address waits (even with the right password), first about a minute.
    const first = await loginFrom('127.0.4.7', email, TEST_PASSWORD)
    expect(first.status).toBe(429)
    expect(first.retryAfter).toBeGreaterThan(0)
    expect(first.retryAfter).toBeLessThanOrEqual(60)
    expect(first.body).toMatch(/Réessayez dans \d+\s(s|min)\./)

    // The wait doubles with each further failure: pretend the minute has passed.
    await db()
      .updateTable('login_throttle')
      .set({ next_attempt_at: new Date(Date.now() - 1000) })
      .where('key', 'like', 'login:acct:%')
      .execute()
    expect((await loginFrom('127.0.4.8', email, 'wrong-8')).status).toBe(401)
    const second = await loginFrom('127.0.4.9', email, 'wrong-9')
    expect(second.status).toBe(429)
    expect(second.retryAfter).toBeGreaterThan(60)
    expect(second.retryAfter).toBeLessThanOrEqual(120)
    // And the owner's address is still fine.
    expect((await loginFrom(home, email, TEST_PASSWORD)).status).toBe(302)
  })

  it("the owner's own address is itself limited: 5 failures from it lock that address for this account", async () => {
    const email = 'owner-typo@macrea.test'
    await newUser(email)
    const home = '127.0.5.1'
    expect((await loginFrom(home, email, TEST_PASSWORD)).status).toBe(302)
    for (let i = 0; i < 5; i++) expect((await loginFrom(home, email, `wrong-${i}`)).status).toBe(401)
    const locked = await loginFrom(home, email, TEST_PASSWORD)
    expect(locked.status).toBe(429)
    expect(locked.retryAfter).toBeGreaterThan(0)
    expect(locked.retryAfter).toBeLessThanOrEqual(15 * 60)
  })
})
