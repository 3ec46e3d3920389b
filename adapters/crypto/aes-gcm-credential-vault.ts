import { hkdfSync, randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import type { CredentialVault, SecretLocation } from '../../domain/ports/credential-vault'
import { CredentialDecryptError } from '../../domain/whatsapp'
import { GCM_IV_BYTES, GCM_TAG_BYTES, aes256GcmOpen, aes256GcmSeal } from './aes-gcm'
import { EncryptionKeyring, KEY_ID_PATTERN, parseEncryptionKeys } from './encryption-keys'

/**
 * AES-256-GCM vault for small secrets (docs/data.md#encryption, docs/security.md#stored-credentials).
 *
 * Envelope: `v1.<keyId>.<base64url(iv[12] | ciphertext | tag[16])>`.
 * Key:      HKDF-SHA256(ikm = key <keyId>, salt = HKDF_SALT, info = lp("wa-creds") lp("v1")
 *           lp(keyId) lp(tenantId)) → 32 bytes; one subkey per (key id, tenant).
 * AAD:      `wa-pro/credential-vault` lp(version) lp(tenantId) lp(table) lp(column) lp(keyId),
 *           where lp(s) = `<utf8 byte length>:<s>|`, so the encoding is unambiguous. The
 *           version and key id in the (unauthenticated) prefix are therefore authenticated too.
 *
 * Not bound: the row id (the port's SecretLocation has none), so two rows of the same tenant,
 * table and column could swap envelopes undetected.
 */

export const ENVELOPE_VERSION = 'v1'
const AAD_PURPOSE = 'wa-pro/credential-vault'
/** Fixed, public, app-wide HKDF salt (RFC 5869 §3.1: non-secret; fixed is acceptable). */
const HKDF_SALT = Buffer.from('whatsapp-pro/credential-vault/hkdf-salt/v1', 'utf8')
const SUBKEY_BYTES = 32
const MIN_PAYLOAD_BYTES = GCM_IV_BYTES + GCM_TAG_BYTES
/** Location parts are short identifiers; the bound also keeps HKDF info far under 1024 bytes. */
const MAX_LOCATION_PART_BYTES = 128
const BASE64URL = /^[A-Za-z0-9_-]+$/

export interface AesGcmCredentialVaultOptions {
  /** Most derived (key id, tenant) subkeys kept in memory; least recently used go first. */
  subkeyCacheSize?: number
}

interface ParsedEnvelope {
  keyId: string
  iv: Buffer
  ciphertext: Buffer
  tag: Buffer
}

function lp(value: string): string {
  return `${Buffer.byteLength(value, 'utf8')}:${value}|`
}

function validLocationPart(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    Buffer.byteLength(value, 'utf8') <= MAX_LOCATION_PART_BYTES &&
    !/[\u0000-\u001f\u007f]/.test(value)
  )
}

function validLocation(at: SecretLocation): boolean {
  return (
    typeof at === 'object' &&
    at !== null &&
    validLocationPart(at.tenantId) &&
    validLocationPart(at.table) &&
    validLocationPart(at.column)
  )
}

/** Canonical associated data for an envelope at `at` written with `keyId`. Exported for tests. */
export function associatedData(at: SecretLocation, keyId: string): Buffer {
  return Buffer.from(
    `${AAD_PURPOSE}|${lp(ENVELOPE_VERSION)}${lp(at.tenantId)}${lp(at.table)}${lp(at.column)}${lp(keyId)}`,
    'utf8',
  )
}

/** Strict envelope parser: undefined for anything that is not exactly our format. */
function parseEnvelope(envelope: unknown): ParsedEnvelope | undefined {
  if (typeof envelope !== 'string') return undefined
  const parts = envelope.split('.')
  if (parts.length !== 3) return undefined
  const [version, keyId, payload] = parts as [string, string, string]
  if (version !== ENVELOPE_VERSION || !KEY_ID_PATTERN.test(keyId) || !BASE64URL.test(payload)) {
    return undefined
  }
  const bytes = Buffer.from(payload, 'base64url')
  // Canonical encoding only, so one byte string has exactly one envelope text.
  if (bytes.toString('base64url') !== payload) return undefined
  if (bytes.length < MIN_PAYLOAD_BYTES) return undefined
  return {
    keyId,
    iv: bytes.subarray(0, GCM_IV_BYTES),
    ciphertext: bytes.subarray(GCM_IV_BYTES, bytes.length - GCM_TAG_BYTES),
    tag: bytes.subarray(bytes.length - GCM_TAG_BYTES),
  }
}

/** Key id of an envelope without decrypting it; undefined when it is not a v1 envelope. */
export function envelopeKeyId(envelope: string): string | undefined {
  return parseEnvelope(envelope)?.keyId
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

export class AesGcmCredentialVault implements CredentialVault {
  readonly #keyring: EncryptionKeyring
  readonly #subkeys = new Map<string, Buffer>()
  readonly #subkeyCacheSize: number

  constructor(keyring: EncryptionKeyring, options: AesGcmCredentialVaultOptions = {}) {
    const size = options.subkeyCacheSize ?? 1024
    if (!Number.isInteger(size) || size < 1) throw new RangeError('subkeyCacheSize must be a positive integer')
    this.#keyring = keyring
    this.#subkeyCacheSize = size
  }

  /** Builds the vault from `WA_ENCRYPTION_KEYS` / `WA_ENCRYPTION_CURRENT_KEY`. */
  static fromEnv(env: Record<string, string | undefined>, options?: AesGcmCredentialVaultOptions): AesGcmCredentialVault {
    return new AesGcmCredentialVault(parseEncryptionKeys(env), options)
  }

  currentKeyId(): string {
    return this.#keyring.currentKeyId
  }

  /** Ids this vault can decrypt. */
  keyIds(): string[] {
    return this.#keyring.keyIds()
  }

  encrypt(plaintext: string, at: SecretLocation): string {
    if (typeof plaintext !== 'string') throw new TypeError('plaintext must be a string')
    if (!validLocation(at)) throw new TypeError('invalid secret location')
    const keyId = this.#keyring.currentKeyId
    const key = this.#subkey(keyId, at.tenantId)
    if (key === undefined) throw new Error('current key missing from key ring') // unreachable
    const iv = randomBytes(GCM_IV_BYTES)
    const { ciphertext, tag } = aes256GcmSeal(key, iv, Buffer.from(plaintext, 'utf8'), associatedData(at, keyId))
    return `${ENVELOPE_VERSION}.${keyId}.${Buffer.concat([iv, ciphertext, tag]).toString('base64url')}`
  }

  decrypt(envelope: string, at: SecretLocation): string {
    // Every failure below ends in the same detail-free error: no oracle on which check failed.
    const parsed = parseEnvelope(envelope)
    if (parsed === undefined || !validLocation(at)) throw new CredentialDecryptError()
    // The key id is the envelope's own (public) prefix: callers log it to tell a missing key.
    const key = this.#subkey(parsed.keyId, at.tenantId)
    if (key === undefined) throw new CredentialDecryptError({ keyId: parsed.keyId })
    let plaintext: Buffer
    try {
      plaintext = aes256GcmOpen(key, parsed.iv, parsed.ciphertext, parsed.tag, associatedData(at, parsed.keyId))
    } catch {
      throw new CredentialDecryptError({ keyId: parsed.keyId })
    }
    try {
      return utf8.decode(plaintext)
    } catch {
      throw new CredentialDecryptError()
    } finally {
      plaintext.fill(0)
    }
  }

  /**
   * True unless the envelope is a well-formed v1 envelope under the current key. A malformed
   * envelope also answers true (it is certainly not current); decrypting it will then fail.
   */
  needsReencryption(envelope: string): boolean {
    return parseEnvelope(envelope)?.keyId !== this.#keyring.currentKeyId
  }

  #subkey(keyId: string, tenantId: string): Buffer | undefined {
    const cacheKey = `${keyId}:${tenantId}` // key ids have no ':', so this is unambiguous
    const cached = this.#subkeys.get(cacheKey)
    if (cached !== undefined) {
      // Refresh recency (Map keeps insertion order: first entry = least recently used).
      this.#subkeys.delete(cacheKey)
      this.#subkeys.set(cacheKey, cached)
      return cached
    }
    const ikm = this.#keyring.keyMaterial(keyId)
    if (ikm === undefined) return undefined
    const info = Buffer.from(`${lp('wa-creds')}${lp(ENVELOPE_VERSION)}${lp(keyId)}${lp(tenantId)}`, 'utf8')
    const subkey = Buffer.from(hkdfSync('sha256', ikm, HKDF_SALT, info, SUBKEY_BYTES))
    this.#subkeys.set(cacheKey, subkey)
    while (this.#subkeys.size > this.#subkeyCacheSize) {
      const oldest = this.#subkeys.keys().next().value
      if (oldest === undefined) break
      this.#subkeys.get(oldest)?.fill(0)
      this.#subkeys.delete(oldest)
    }
    return subkey
  }

  /** Cached subkey count (observability / tests). */
  get cachedSubkeys(): number {
    return this.#subkeys.size
  }

  toJSON(): { keyIds: string[]; currentKeyId: string } {
    return this.#keyring.toJSON()
  }

  [inspect.custom](): string {
    return `AesGcmCredentialVault(keys: ${this.keyIds().join(', ')}; current: ${this.currentKeyId()})`
  }
}
