import { beforeAll, describe, expect, it } from 'vitest'
import { SIM_API_URL, useWaApp } from '../utils/wa-harness'
import { expectError, newTenant, post } from './api-support'
import { expectConcurrentFirstLinksConverge } from './concurrent-link-support'

// Shared mode: a tenant's own concurrent first attempts converge on the env instance; only a
// real other tenant is told INSTANCE_BUSY. The QR limit is raised so the burst is not a 429.
const SHARED_ID = '1101990011'
const SHARED_TOKEN = 'shared0instance0token0concurrent0links0'
const h = useWaApp({
  env: {
    GREENAPI_MODE: 'shared',
    GREENAPI_INSTANCE_ID: SHARED_ID,
    GREENAPI_API_TOKEN: SHARED_TOKEN,
    GREENAPI_BASE_URL: SIM_API_URL,
    WA_RATE_LIMIT_QR: '100/60',
  },
})

describe('shared mode: concurrent first link attempts of one tenant', () => {
  beforeAll(() => {
    h.sim.addInstance({ instanceId: SHARED_ID, apiToken: SHARED_TOKEN })
  })

  it('10 concurrent generates of one tenant all answer 200 on one claim; another tenant still gets INSTANCE_BUSY', async () => {
    const a = await newTenant()
    const instanceId = await expectConcurrentFirstLinksConverge(h, a, 10)
    expect(instanceId).toBe(SHARED_ID)

    const b = await newTenant()
    await expectError(await post(h, '/api/wa/qr/generate', b), 409, 'INSTANCE_BUSY')
  })
})
