import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { testDb } from '../utils/db'
import { SIM_API_URL, eventually, useWaApp } from '../utils/wa-harness'
import { expectError, instanceRow, linkByScan, newTenant, post, providerRow, statusOf, type TenantActor } from './api-support'

// Shared mode (issue #16, decision 212): a link attempt that ran past its hard stop without
// linking gives the one env instance back, so another tenant can link. The attempt's end is
// moved by dating `link_expires_at` back in its row (the refresher compares it with now), never
// by waiting LINK_ATTEMPT_MINUTES.
const SHARED_ID = '1101990077'
const SHARED_TOKEN = 'shared0instance0token0for0the0release0test'
const h = useWaApp({
  env: {
    GREENAPI_MODE: 'shared',
    GREENAPI_INSTANCE_ID: SHARED_ID,
    GREENAPI_API_TOKEN: SHARED_TOKEN,
    GREENAPI_BASE_URL: SIM_API_URL,
  },
})
const db = testDb()

async function expireAttempt(tenantId: string) {
  await sql`update tenant_provider_configs set link_expires_at = now() - interval '1 second',
            link_started_at = now() - interval '5 minutes' where tenant_id = ${tenantId}`.execute(db)
}

async function expireEntries(tenantId: string) {
  const rows = await db
    .selectFrom('wa_status_events')
    .select('source')
    .where('tenant_id', '=', tenantId)
    .where('source', '=', 'expire')
    .execute()
  return rows.length
}

describe('shared mode: an abandoned link attempt does not hold the one instance hostage', () => {
  let a: TenantActor
  let b: TenantActor
  beforeAll(async () => {
    h.sim.addInstance({ instanceId: SHARED_ID, apiToken: SHARED_TOKEN })
    a = await newTenant()
    b = await newTenant()
  })

  it('A starts and lets the attempt expire: the instance is released once, B links, A cannot touch it', async () => {
    expect((await post(h, '/api/wa/qr/generate', a)).status).toBe(200)
    expect((await instanceRow(SHARED_ID)).tenant_id).toBe(a.tenantId)
    await expectError(await post(h, '/api/wa/qr/generate', b), 409, 'INSTANCE_BUSY')

    await expireAttempt(a.tenantId)
    await eventually(async () => expect((await instanceRow(SHARED_ID)).tenant_id).toBeNull())
    // The expiry is on A's timeline once; A's row went with the claim (a row names its instance).
    expect(await expireEntries(a.tenantId)).toBe(1)
    expect(await providerRow(a.tenantId)).toBeUndefined()
    expect(await statusOf(h, a)).toMatchObject({ connected: false, status: 'notAuthorized' })

    // B can link now (the instance is logged out first: nothing of a late scan is inherited).
    await linkByScan(h, b, '+33630000001')
    expect(await instanceRow(SHARED_ID)).toMatchObject({ tenant_id: b.tenantId, needs_logout: false })

    // A's retry is refused while B holds it, and A's disconnect does not log B out.
    h.sim.resetCallCounts()
    await expectError(await post(h, '/api/wa/qr/generate', a), 409, 'INSTANCE_BUSY')
    expect((await post(h, '/api/wa/disconnect', a)).status).toBe(200)
    expect(h.sim.callCount({ method: 'logout' })).toBe(0)
    expect(await statusOf(h, b)).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33630000001' })

    // B disconnects; A may link again.
    expect((await post(h, '/api/wa/disconnect', b)).status).toBe(200)
    await linkByScan(h, a, '+33630000002')
    expect((await instanceRow(SHARED_ID)).tenant_id).toBe(a.tenantId)
  })
})
