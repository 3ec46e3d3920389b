import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import type { KeyedHasher } from '../../domain/ports/keyed-hasher'
import type { EncryptionKeyring } from './encryption-keys'

const HKDF_INFO = 'wa-pro/keyed-hash/v1'

/**
 * HMAC-SHA256 under a subkey derived (HKDF-SHA256) from each key of the vault's ring, so no new
 * secret has to be configured and the encryption keys themselves are never used for another
 * purpose. Input: `purpose | tenantId | value`, length-prefixed. Output `<keyId>.<base64url>`.
 */
export class HmacKeyedHasher implements KeyedHasher {
  private readonly subkeys = new Map<string, Buffer>()

  constructor(private readonly keyring: EncryptionKeyring) {}

  private subkey(keyId: string): Buffer | undefined {
    let k = this.subkeys.get(keyId)
    if (!k) {
      const material = this.keyring.keyMaterial(keyId)
      if (!material) return undefined
      k = Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), HKDF_INFO, 32))
      this.subkeys.set(keyId, k)
    }
    return k
  }

  private mac(key: Buffer, purpose: string, tenantId: string, value: string): Buffer {
    const lp = (s: string) => `${Buffer.byteLength(s, 'utf8')}:${s}`
    return createHmac('sha256', key)
      .update(`${lp(purpose)}${lp(tenantId)}${lp(value)}`, 'utf8')
      .digest()
  }

  hash(purpose: string, tenantId: string, value: string): string {
    const keyId = this.keyring.currentKeyId
    const key = this.subkey(keyId)
    if (!key) throw new Error('current key missing from the key ring')
    return `${keyId}.${this.mac(key, purpose, tenantId, value).toString('base64url')}`
  }

  verify(hashed: string, purpose: string, tenantId: string, value: string): boolean {
    const dot = hashed.indexOf('.')
    if (dot <= 0) return false
    const key = this.subkey(hashed.slice(0, dot))
    if (!key) return false
    const given = Buffer.from(hashed.slice(dot + 1), 'base64url')
    const expected = this.mac(key, purpose, tenantId, value)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}
