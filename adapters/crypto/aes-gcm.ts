import { createCipheriv, createDecipheriv } from 'node:crypto'

/**
 * Low-level AES-256-GCM with the only parameters this app allows: 32-byte key, 96-bit IV,
 * 128-bit tag. Known-answer tests run against these two functions; the vault is the only
 * production caller and it always draws the IV from the CSPRNG (no IV parameter on its API).
 */

const AES_256_KEY_BYTES = 32
export const GCM_IV_BYTES = 12
export const GCM_TAG_BYTES = 16

/** Thrown by `aes256GcmOpen` for any failure. Deliberately carries no detail. */
export class AeadOpenError extends Error {
  constructor() {
    super('AEAD open failed')
    this.name = 'AeadOpenError'
  }
}

function checkParams(key: Uint8Array, iv: Uint8Array): void {
  if (key.length !== AES_256_KEY_BYTES) throw new RangeError('AES-256-GCM needs a 32-byte key')
  if (iv.length !== GCM_IV_BYTES) throw new RangeError('AES-256-GCM here needs a 12-byte IV')
}

export function aes256GcmSeal(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): { ciphertext: Buffer; tag: Buffer } {
  checkParams(key, iv)
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES })
  cipher.setAAD(aad)
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return { ciphertext, tag: cipher.getAuthTag() }
}

/** Returns the plaintext, or throws `AeadOpenError` (wrong key/IV/AAD, tampering, bad tag length). */
export function aes256GcmOpen(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, aad: Uint8Array): Buffer {
  checkParams(key, iv)
  // Both checks on purpose: our own length check, and authTagLength so OpenSSL never accepts a
  // truncated tag (Node DEP0182; Rails' aes256_gcm.rb guards the same way).
  if (tag.length !== GCM_TAG_BYTES) throw new AeadOpenError()
  let head: Buffer | undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES })
    decipher.setAuthTag(tag)
    decipher.setAAD(aad)
    head = decipher.update(ciphertext)
    const tail = decipher.final() // throws on authentication failure
    return Buffer.concat([head, tail])
  } catch {
    head?.fill(0) // unauthenticated plaintext never leaves this function
    throw new AeadOpenError()
  }
}
