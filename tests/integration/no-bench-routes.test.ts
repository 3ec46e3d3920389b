import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signAppToken } from '../../app/utils/jwt.server'
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../utils/app'

// The bench's baselines live in tests/bench/baselines.ts (issue 14, item 6; decision 115). The
// production build used to carry /bench/noop and /bench/naive-status, switched on by an env
// variable; the naive one accepted any correctly signed JWT (no membership, no revocation),
// opened a pool per request and put the Green-API token in a URL. Whatever the environment
// says, the built app must not serve them.
let app: TestApp
beforeAll(async () => {
  app = await startTestApp({ env: { BENCH_NOOP: '1' } })
})
afterAll(async () => {
  await app?.close()
})

describe('no bench routes in the production build', () => {
  it('the build has no bench route module', () => {
    expect(Object.keys(app.build.routes).filter((id) => /bench/i.test(id))).toEqual([])
  })

  it('GET /bench/noop is not found, even with BENCH_NOOP=1', async () => {
    const res = await fetch(`${app.url}/bench/noop`)
    expect(res.status).toBe(404)
  })

  it('GET /bench/naive-status is not found for a signed token of a tenant the user is not a member of', async () => {
    // Signed with the app's secret, for a tenant and user that do not exist: the old route
    // checked the signature only, then read the tenant's row with a pool of its own.
    const { token } = await signAppToken(
      { JWT_SECRET: TEST_JWT_SECRET },
      { userId: randomUUID(), tenantId: `ghost-${randomUUID()}`, ttlSeconds: 300, jti: randomUUID() },
    )
    const res = await fetch(`${app.url}/bench/naive-status`, { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(404)
  })
})
