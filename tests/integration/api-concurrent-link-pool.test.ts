import { beforeAll, describe, it } from 'vitest'
import { AesGcmCredentialVault } from '../../adapters/crypto/aes-gcm-credential-vault'
import { parseEncryptionKeys } from '../../adapters/crypto/encryption-keys'
import { INSTANCE_TOKEN_LOCATION } from '../../domain/whatsapp'
import { TEST_ENCRYPTION_KEYS } from '../utils/app'
import { testDb } from '../utils/db'
import { SIM_API_URL, useWaApp } from '../utils/wa-harness'
import { newTenant } from './api-support'
import { expectConcurrentFirstLinksConverge } from './concurrent-link-support'

// Pool mode: a tenant's own concurrent first attempts converge on one pool instance (never a
// second one, never INSTANCE_BUSY). The QR limit is raised so the burst is not a 429.
const h = useWaApp({ env: { GREENAPI_MODE: 'pool', WA_RATE_LIMIT_QR: '100/60' }, instances: 0 })

describe('pool mode: concurrent first link attempts of one tenant', () => {
  beforeAll(async () => {
    const vault = new AesGcmCredentialVault(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS }))
    for (let i = 1; i <= 4; i++) {
      const inst = h.sim.addInstance({ instanceId: `110177000${i}` })
      await testDb()
        .insertInto('wa_instances')
        .values({
          id: inst.instanceId,
          mode: 'pool',
          api_url: SIM_API_URL,
          encrypted_token: vault.encrypt(inst.apiToken, INSTANCE_TOKEN_LOCATION),
        })
        .execute()
    }
  })

  it('10 concurrent generates of one tenant, three times over: all 200, one instance each', async () => {
    for (let round = 0; round < 3; round++) await expectConcurrentFirstLinksConverge(h, await newTenant(), 10)
  })
})
