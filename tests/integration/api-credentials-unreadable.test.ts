import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { AesGcmCredentialVault } from '../../adapters/crypto/aes-gcm-credential-vault'
import { EncryptionKeyring } from '../../adapters/crypto/encryption-keys'
import { INSTANCE_TOKEN_LOCATION, configLocation } from '../../domain/whatsapp'
import { testDb } from '../utils/db'
import { SIM_API_URL, useWaApp } from '../utils/wa-harness'
import { expectError, get, linkByScan, newTenant, post, scanTarget } from './api-support'

// Key rotation while the app runs (issue 13): the rows are re-encrypted under a key this process
// does not hold. That is its own error — 503 CREDENTIALS_UNREADABLE, logged at error level with
// the key id, never the ciphertext — not 409 NOT_CONNECTED ("link your number first").
const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-unreadable-')), 'app.log')
const h = useWaApp({ env: { LOG_LEVEL: 'info', LOG_FILE: logFile } })
const rotated = new AesGcmCredentialVault(new EncryptionKeyring([['k9', randomBytes(32)]], 'k9'))

/** What `keys rotate` run elsewhere with a new key ring leaves behind for this tenant. */
async function reencryptUnderUnknownKey(tenantId: string, instanceId: string): Promise<string[]> {
  const token = rotated.encrypt(h.sim.instance(instanceId)!.apiToken, INSTANCE_TOKEN_LOCATION)
  const config = rotated.encrypt(
    JSON.stringify({ instanceId, apiToken: h.sim.instance(instanceId)!.apiToken, apiUrl: SIM_API_URL }),
    configLocation(tenantId),
  )
  await testDb().updateTable('wa_instances').set({ encrypted_token: token }).where('id', '=', instanceId).execute()
  await testDb()
    .updateTable('tenant_provider_configs')
    .set({ encrypted_config: config })
    .where('tenant_id', '=', tenantId)
    .execute()
  return [token, config]
}

function errorLines(): Array<Record<string, unknown>> {
  return fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.level === 50)
}

describe('credentials that cannot be decrypted', () => {
  it('generate during a link attempt → 503 CREDENTIALS_UNREADABLE with Retry-After, logged at error level with the key id only', async () => {
    const t = await newTenant()
    const gen = await post(h, '/api/wa/qr/generate', t)
    expect(gen.status).toBe(200)
    const { instanceId } = await scanTarget(((await gen.json()) as { qrCode: string }).qrCode)
    const envelopes = await reencryptUnderUnknownKey(t.tenantId, instanceId)

    const res = await post(h, '/api/wa/qr/generate', t)
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
    await expectError(res, 503, 'CREDENTIALS_UNREADABLE')

    const lines = errorLines().filter((l) => l.instanceId === instanceId)
    expect(lines.length).toBeGreaterThanOrEqual(1)
    expect(lines[0]).toMatchObject({ keyId: 'k9', instanceId })
    const log = fs.readFileSync(logFile, 'utf8')
    for (const e of envelopes) expect(log).not.toContain(e.slice(8, 40))
  })

  it('a linked tenant: the test send answers 503 CREDENTIALS_UNREADABLE too (never "link your number first")', async () => {
    const t = await newTenant()
    const instanceId = await linkByScan(h, t, '+33600000021')
    await reencryptUnderUnknownKey(t.tenantId, instanceId)
    await expectError(await post(h, '/api/wa/test', t), 503, 'CREDENTIALS_UNREADABLE')
    expect(errorLines().some((l) => l.tenantId === t.tenantId && l.keyId === 'k9')).toBe(true)
    // The status still answers from the stored row.
    expect((await get(h, '/api/wa/qr/status', t)).status).toBe(200)
  })
})
