import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { AesGcmCredentialVault } from './aes-gcm-credential-vault'
import {
  EncryptionKeyConfigError,
  EncryptionKeyring,
  KEY_ID_PATTERN,
  generateKeyId,
  generateKeyringString,
  parseEncryptionKeys,
} from './encryption-keys'

const A = randomBytes(32)
const B = randomBytes(32)

function configError(fn: () => unknown): EncryptionKeyConfigError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(EncryptionKeyConfigError)
    return e as EncryptionKeyConfigError
  }
  throw new Error('expected a configuration error')
}

describe('parseEncryptionKeys', () => {
  it('accepts base64 and base64url keys; the last listed key is current by default', () => {
    const ring = parseEncryptionKeys({
      WA_ENCRYPTION_KEYS: ` k1:${A.toString('base64')} , k2:${B.toString('base64url')},`,
    })
    expect(ring.keyIds()).toEqual(['k1', 'k2'])
    expect(ring.currentKeyId).toBe('k2')
    expect(ring.keyMaterial('k1')?.equals(A)).toBe(true)
    expect(ring.keyMaterial('k2')?.equals(B)).toBe(true)
  })

  it('uses WA_ENCRYPTION_CURRENT_KEY when given (and ignores it when empty)', () => {
    const keys = `k1:${A.toString('base64')},k2:${B.toString('base64')}`
    expect(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: keys, WA_ENCRYPTION_CURRENT_KEY: 'k1' }).currentKeyId).toBe('k1')
    expect(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: keys, WA_ENCRYPTION_CURRENT_KEY: '' }).currentKeyId).toBe('k2')
  })

  it('rejects bad configurations with a clear message', () => {
    const a = A.toString('base64')
    const cases: Array<[Record<string, string | undefined>, RegExp]> = [
      [{}, /WA_ENCRYPTION_KEYS is required/],
      [{ WA_ENCRYPTION_KEYS: '  ' }, /WA_ENCRYPTION_KEYS is required/],
      [{ WA_ENCRYPTION_KEYS: ',' }, /lists no key/],
      [{ WA_ENCRYPTION_KEYS: a }, /entry #1 must look like keyId:base64key/],
      [{ WA_ENCRYPTION_KEYS: `K1:${a}` }, /entry #1: key id must match/],
      [{ WA_ENCRYPTION_KEYS: `${'k'.repeat(17)}:${a}` }, /entry #1: key id must match/],
      [{ WA_ENCRYPTION_KEYS: `k1:${randomBytes(31).toString('base64')}` }, /exactly 32 bytes \(got 31\)/],
      [{ WA_ENCRYPTION_KEYS: `k1:${randomBytes(33).toString('base64')}` }, /exactly 32 bytes \(got 33\)/],
      [{ WA_ENCRYPTION_KEYS: `k1:${A.toString('hex')}` }, /exactly 32 bytes \(got 48\)/],
      [{ WA_ENCRYPTION_KEYS: `k1:${a.slice(0, -2)}!!` }, /not valid base64/],
      [{ WA_ENCRYPTION_KEYS: `k1:${a},k1:${B.toString('base64')}` }, /"k1" is listed more than once/],
      [{ WA_ENCRYPTION_KEYS: `k1:${a}`, WA_ENCRYPTION_CURRENT_KEY: 'k2' }, /"k2" is not listed/],
      [{ WA_ENCRYPTION_KEYS: `k1:${a}`, WA_ENCRYPTION_CURRENT_KEY: 'NOPE!' }, /CURRENT_KEY must match/],
    ]
    for (const [env, message] of cases) expect(configError(() => parseEncryptionKeys(env)).message).toMatch(message)
  })

  it('never echoes key material, not even from a swapped key:id pair', () => {
    const a = A.toString('base64')
    const envs = [
      { WA_ENCRYPTION_KEYS: `${a}:k1` }, // swapped
      { WA_ENCRYPTION_KEYS: a },
      { WA_ENCRYPTION_KEYS: `k1:${a.slice(0, 30)}` },
      { WA_ENCRYPTION_KEYS: `k1:${a}`, WA_ENCRYPTION_CURRENT_KEY: a },
    ]
    for (const env of envs) {
      const e = configError(() => parseEncryptionKeys(env))
      for (const text of [e.message, String(e.stack), JSON.stringify(e), inspect(e)]) {
        expect(text).not.toContain(a.slice(0, 12))
        expect(text).not.toContain(A.toString('hex').slice(0, 16))
      }
    }
  })

  it('redacts the key ring in JSON, String and inspect', () => {
    const ring = new EncryptionKeyring(
      [
        ['k1', A],
        ['k2', B],
      ],
      'k2',
    )
    for (const text of [JSON.stringify(ring), String(ring), inspect(ring, { showHidden: true, depth: 10 })]) {
      for (const k of [A, B]) {
        expect(text).not.toContain(k.toString('base64').slice(0, 12))
        expect(text).not.toContain(k.toString('hex').slice(0, 16))
      }
    }
    expect(JSON.parse(JSON.stringify(ring))).toEqual({ keyIds: ['k1', 'k2'], currentKeyId: 'k2' })
  })

  it('copies key bytes so a caller mutating its buffer cannot change the key ring', () => {
    const mine = Buffer.from(A)
    const ring = new EncryptionKeyring([['k1', mine]], 'k1')
    mine.fill(0)
    expect(ring.keyMaterial('k1')?.equals(A)).toBe(true)
  })
})

describe('generateKeyringString', () => {
  it('makes a fresh id and 32-byte key that parse back and work in a vault', () => {
    const first = generateKeyringString()
    const second = generateKeyringString()
    expect(first).toMatch(/^k\d{8}[0-9a-f]{4}:[A-Za-z0-9+/]{43}=$/)
    expect(first.split(':')[1]).not.toBe(second.split(':')[1])
    const ring = parseEncryptionKeys({ WA_ENCRYPTION_KEYS: `${first},${second}` })
    expect(ring.currentKeyId).toBe(second.split(':')[0])
    const vault = new AesGcmCredentialVault(ring)
    const at = { tenantId: 't1', table: 'tenant_provider_configs', column: 'encrypted_config' }
    expect(vault.decrypt(vault.encrypt('s', at), at)).toBe('s')
  })

  it('generates valid key ids and accepts a chosen one', () => {
    for (let i = 0; i < 50; i++) expect(generateKeyId()).toMatch(KEY_ID_PATTERN)
    expect(generateKeyId(new Date('2026-11-25T10:00:00Z'))).toMatch(/^k20261125[0-9a-f]{4}$/)
    expect(generateKeyringString('k7')).toMatch(/^k7:/)
    configError(() => generateKeyringString('Bad-Id'))
  })
})
