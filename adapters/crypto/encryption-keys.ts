import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { z } from 'zod'

/**
 * The key ring for stored credentials, read from the environment:
 *
 *   WA_ENCRYPTION_KEYS=k1:<base64 32 bytes>,k2:<base64url 32 bytes>
 *   WA_ENCRYPTION_CURRENT_KEY=k2        (optional; default: the LAST listed key)
 *
 * Rotation (Tink's order): append a new key while keeping the old current one pinned with
 * WA_ENCRYPTION_CURRENT_KEY, deploy everywhere, then make the new key current, deploy, run the
 * re-encryption job, verify, and only then drop the old key from the list.
 *
 * Nothing here ever puts key material into an error message, `JSON.stringify` or `inspect`
 * output: errors name the entry by position, and ids are echoed only once they passed the id
 * pattern (a swapped `key:id` pair would otherwise print the key).
 */

export const KEY_ID_PATTERN = /^[a-z0-9]{1,16}$/
const KEY_BYTES = 32

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const BASE64URL = /^[A-Za-z0-9_-]+$/

/** Configuration error for the key ring. Its message never contains key material. */
export class EncryptionKeyConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid encryption key configuration: ${problems.join('; ')}`)
    this.name = 'EncryptionKeyConfigError'
  }
}

/** An immutable set of 32-byte keys by id, one of them current. Redacted when printed. */
export class EncryptionKeyring {
  readonly #keys: ReadonlyMap<string, Buffer>
  readonly #currentKeyId: string

  constructor(keys: Iterable<readonly [string, Uint8Array]>, currentKeyId: string) {
    const map = new Map<string, Buffer>()
    const problems: string[] = []
    let position = 0
    for (const [id, key] of keys) {
      position += 1
      if (!KEY_ID_PATTERN.test(id)) {
        problems.push(`key #${position}: id must match ${KEY_ID_PATTERN.source}`)
        continue
      }
      if (map.has(id)) problems.push(`key id "${id}" is listed more than once`)
      if (key.length !== KEY_BYTES) {
        problems.push(`key "${id}" must be exactly ${KEY_BYTES} bytes (got ${key.length})`)
        continue
      }
      map.set(id, Buffer.from(key)) // private copy: callers cannot mutate our key afterwards
    }
    if (position === 0) problems.push('at least one key is required')
    if (problems.length === 0 && !map.has(currentKeyId)) {
      problems.push(
        KEY_ID_PATTERN.test(currentKeyId)
          ? `current key "${currentKeyId}" is not among the listed keys (${[...map.keys()].join(', ')})`
          : `current key id must match ${KEY_ID_PATTERN.source}`,
      )
    }
    if (problems.length > 0) throw new EncryptionKeyConfigError(problems)
    this.#keys = map
    this.#currentKeyId = currentKeyId
  }

  get currentKeyId(): string {
    return this.#currentKeyId
  }

  keyIds(): string[] {
    return [...this.#keys.keys()]
  }

  has(keyId: string): boolean {
    return this.#keys.has(keyId)
  }

  /**
   * Raw key bytes for `keyId`, or undefined. Only the vault should call this; the buffer is
   * shared, do not mutate or log it.
   */
  keyMaterial(keyId: string): Buffer | undefined {
    return this.#keys.get(keyId)
  }

  /** Same keys, another current one (e.g. to pin the old key while rolling out a new one). */
  withCurrent(keyId: string): EncryptionKeyring {
    return new EncryptionKeyring(this.#keys, keyId)
  }

  /** Adds `keyId` (which must be new) and, unless `makeCurrent` is false, makes it current. */
  withKey(keyId: string, key: Uint8Array, makeCurrent = true): EncryptionKeyring {
    if (this.#keys.has(keyId)) throw new EncryptionKeyConfigError([`key id "${keyId}" already exists`])
    return new EncryptionKeyring([...this.#keys, [keyId, key]], makeCurrent ? keyId : this.#currentKeyId)
  }

  toJSON(): { keyIds: string[]; currentKeyId: string } {
    return { keyIds: this.keyIds(), currentKeyId: this.#currentKeyId }
  }

  toString(): string {
    return `EncryptionKeyring(keys: ${this.keyIds().join(', ')}; current: ${this.#currentKeyId})`
  }

  [inspect.custom](): string {
    return this.toString()
  }
}

/** Decodes canonical base64 or base64url (padding optional); undefined when it is neither. */
function decodeKey(text: string): Buffer | undefined {
  const unpadded = text.replace(/=+$/, '')
  if (BASE64URL.test(text)) {
    const bytes = Buffer.from(text, 'base64url')
    return bytes.toString('base64url') === text ? bytes : undefined
  }
  if (BASE64.test(text)) {
    const bytes = Buffer.from(text, 'base64')
    return bytes.toString('base64').replace(/=+$/, '') === unpadded ? bytes : undefined
  }
  return undefined
}

const keyringEnvSchema = z
  .object({
    WA_ENCRYPTION_KEYS: z
      .string({ error: 'WA_ENCRYPTION_KEYS is required (comma-separated keyId:base64key)' })
      .trim()
      .min(1, 'WA_ENCRYPTION_KEYS is required (comma-separated keyId:base64key)'),
    WA_ENCRYPTION_CURRENT_KEY: z
      .string()
      .trim()
      .optional()
      .transform((v) => (v === '' ? undefined : v))
      .refine((v) => v === undefined || KEY_ID_PATTERN.test(v), {
        error: `WA_ENCRYPTION_CURRENT_KEY must match ${KEY_ID_PATTERN.source}`,
      }),
  })
  .transform((env, ctx) => {
    const entries = env.WA_ENCRYPTION_KEYS.split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '')
    const keys: Array<[string, Buffer]> = []
    const seen = new Set<string>()
    entries.forEach((entry, index) => {
      const where = `WA_ENCRYPTION_KEYS entry #${index + 1}`
      const colon = entry.indexOf(':')
      if (colon < 0) {
        ctx.addIssue({ code: 'custom', message: `${where} must look like keyId:base64key` })
        return
      }
      const id = entry.slice(0, colon).trim()
      const material = entry.slice(colon + 1).trim()
      if (!KEY_ID_PATTERN.test(id)) {
        ctx.addIssue({ code: 'custom', message: `${where}: key id must match ${KEY_ID_PATTERN.source}` })
        return
      }
      if (seen.has(id)) {
        ctx.addIssue({ code: 'custom', message: `${where}: key id "${id}" is listed more than once` })
        return
      }
      seen.add(id)
      const bytes = decodeKey(material)
      if (bytes === undefined) {
        ctx.addIssue({ code: 'custom', message: `${where} (id "${id}"): key is not valid base64/base64url` })
        return
      }
      if (bytes.length !== KEY_BYTES) {
        ctx.addIssue({
          code: 'custom',
          message: `${where} (id "${id}"): key must decode to exactly ${KEY_BYTES} bytes (got ${bytes.length})`,
        })
        return
      }
      keys.push([id, bytes])
    })
    if (entries.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'WA_ENCRYPTION_KEYS lists no key' })
    }
    const currentKeyId = env.WA_ENCRYPTION_CURRENT_KEY ?? keys.at(-1)?.[0]
    if (
      env.WA_ENCRYPTION_CURRENT_KEY !== undefined &&
      keys.length === entries.length &&
      !seen.has(env.WA_ENCRYPTION_CURRENT_KEY)
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `WA_ENCRYPTION_CURRENT_KEY "${env.WA_ENCRYPTION_CURRENT_KEY}" is not listed in WA_ENCRYPTION_KEYS (${[...seen].join(', ')})`,
      })
    }
    return { keys, currentKeyId: currentKeyId ?? '' }
  })

/**
 * Parses and validates the key ring from environment variables. Throws
 * `EncryptionKeyConfigError` listing every problem (never the key material).
 */
export function parseEncryptionKeys(env: Record<string, string | undefined>): EncryptionKeyring {
  const result = keyringEnvSchema.safeParse({
    WA_ENCRYPTION_KEYS: env.WA_ENCRYPTION_KEYS,
    WA_ENCRYPTION_CURRENT_KEY: env.WA_ENCRYPTION_CURRENT_KEY,
  })
  if (!result.success) {
    // Our own messages only: zod's default messages could in principle quote the input.
    throw new EncryptionKeyConfigError(result.error.issues.map((i) => i.message))
  }
  return new EncryptionKeyring(result.data.keys, result.data.currentKeyId)
}

/** A fresh, sortable key id: `k` + UTC date + 4 random hex digits (13 chars, fits the pattern). */
export function generateKeyId(now: Date = new Date()): string {
  const date = now.toISOString().slice(0, 10).replaceAll('-', '')
  return `k${date}${randomBytes(2).toString('hex')}`
}

/**
 * One fresh `keyId:base64key` entry for WA_ENCRYPTION_KEYS (dev setup, or the first step of a
 * rotation: append it to the existing list). The key comes from the CSPRNG.
 */
export function generateKeyringString(keyId: string = generateKeyId()): string {
  if (!KEY_ID_PATTERN.test(keyId)) {
    throw new EncryptionKeyConfigError([`key id must match ${KEY_ID_PATTERN.source}`])
  }
  return `${keyId}:${randomBytes(KEY_BYTES).toString('base64')}`
}
