import { beforeAll, describe, expect, it } from 'vitest'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { SIM_API_URL, useWaApp } from '../utils/wa-harness'
import { askPairingCodeOnPage, newTenant, post, type TenantActor } from './api-support'

// Outside simulator mode (here: shared mode against the same fake Green-API) the waiting page has
// no simulated-phone link and the navigation no /dev/simulator (decision 216). The same journey in
// simulator mode shows both: tests/integration/simulator-links.test.ts.
const SHARED_ID = '1101990007'
const SHARED_TOKEN = 'shared0instance0token0for0the0links0test'
const h = useWaApp({
  env: {
    GREENAPI_MODE: 'shared',
    GREENAPI_INSTANCE_ID: SHARED_ID,
    GREENAPI_API_TOKEN: SHARED_TOKEN,
    GREENAPI_BASE_URL: SIM_API_URL,
  },
})
beforeAll(() => {
  h.sim.addInstance({ instanceId: SHARED_ID, apiToken: SHARED_TOKEN })
})

async function html(t: TenantActor, lang = 'fr'): Promise<string> {
  const res = await fetch(`${h.app.url}/settings/whatsapp`, {
    headers: { cookie: await sessionCookie(testDb(), t.userId), 'accept-language': lang, 'sec-fetch-site': 'same-origin' },
    redirect: 'manual',
  })
  expect(res.status).toBe(200)
  return res.text()
}

describe('not in simulator mode', () => {
  it('the waiting page shows the QR without a simulated-phone link, the navigation no simulator', async () => {
    const t = await newTenant()
    expect((await post(h, '/api/wa/qr/generate', t)).status).toBe(200)
    for (const lang of ['fr', 'en']) {
      const body = await html(t, lang)
      expect(body).toMatch(/<img[^>]*class="wa-qr"/)
      expect(body).not.toContain('/dev/simulator')
      expect(body).not.toContain(lang === 'fr' ? 'Ouvrir le téléphone simulé' : 'Open the simulated phone')
      expect(body).not.toContain(lang === 'fr' ? '>Simulateur<' : '>Simulator<')
    }
  })

  it('the pairing page has no pairing-screen link', async () => {
    const t = await newTenant()
    // The shared instance went to the first test's tenant: release it by disconnecting.
    const first = await testDb()
      .selectFrom('wa_instances')
      .select('tenant_id')
      .where('id', '=', SHARED_ID)
      .executeTakeFirstOrThrow()
    expect(first.tenant_id).not.toBeNull()
    await testDb().updateTable('wa_instances').set({ tenant_id: null, claimed_at: null }).where('id', '=', SHARED_ID).execute()
    await testDb().deleteFrom('tenant_provider_configs').where('instance_id', '=', SHARED_ID).execute()
    await askPairingCodeOnPage(h, t)
    const body = await html(t)
    expect(body).toContain('wa-code')
    expect(body).not.toContain('/dev/simulator')
    expect(body).not.toContain('association du téléphone simulé')
  })
})
