import { hkdfSync, randomBytes } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { inspect } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { SecretLocation } from '../../domain/ports/credential-vault'
import { CredentialDecryptError } from '../../domain/whatsapp'
import { AeadOpenError, aes256GcmOpen, aes256GcmSeal } from './aes-gcm'
import { AesGcmCredentialVault, associatedData, envelopeKeyId } from './aes-gcm-credential-vault'
import { EncryptionKeyring } from './encryption-keys'

const K1 = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex')
const K2 = randomBytes(32)

const AT: SecretLocation = { tenantId: 'acme', table: 'tenant_provider_configs', column: 'encrypted_config' }
const SECRET = '{"instanceId":"1101000001","apiToken":"d75b3a66374942c5b3c019c698abc2067e151558acbd412f"}'

function vaultWith(keys: Array<[string, Buffer]>, current: string): AesGcmCredentialVault {
  return new AesGcmCredentialVault(new EncryptionKeyring(keys, current))
}

const v1 = vaultWith([['k1', K1]], 'k1')

function payloadOf(envelope: string): Buffer {
  return Buffer.from(envelope.split('.')[2]!, 'base64url')
}
function withPayload(envelope: string, payload: Buffer): string {
  const [version, keyId] = envelope.split('.')
  return `${version}.${keyId}.${payload.toString('base64url')}`
}

/** Runs `fn`, expects a CredentialDecryptError, returns it. */
function decryptError(fn: () => unknown): CredentialDecryptError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(CredentialDecryptError)
    return e as CredentialDecryptError
  }
  throw new Error('expected decryption to fail, but it succeeded')
}

describe('AesGcmCredentialVault', () => {
  it('round-trips ASCII, empty, multi-byte and long secrets', () => {
    for (const secret of [SECRET, '', 'пароль-🔐-密码', 'x'.repeat(10_000)]) {
      const envelope = v1.encrypt(secret, AT)
      expect(v1.decrypt(envelope, AT)).toBe(secret)
    }
  })

  it('writes v1.<keyId>.<base64url(iv12|ct|tag16)> with the current key', () => {
    const envelope = v1.encrypt(SECRET, AT)
    expect(envelope).toMatch(/^v1\.k1\.[A-Za-z0-9_-]+$/)
    expect(payloadOf(envelope)).toHaveLength(12 + Buffer.byteLength(SECRET) + 16)
    expect(envelope).not.toContain(SECRET)
    expect(envelopeKeyId(envelope)).toBe('k1')
  })

  it('rejects every single-bit flip of IV, ciphertext and tag', () => {
    const envelope = v1.encrypt(SECRET, AT)
    const payload = payloadOf(envelope)
    let rejected = 0
    for (let byte = 0; byte < payload.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const tampered = Buffer.from(payload)
        tampered[byte]! ^= 1 << bit
        decryptError(() => v1.decrypt(withPayload(envelope, tampered), AT))
        rejected++
      }
    }
    expect(rejected).toBe(payload.length * 8) // 12 + 96 + 16 bytes → 992 variants, 0 accepted
    expect(v1.decrypt(envelope, AT)).toBe(SECRET) // the original still decrypts
  })

  it('rejects every byte replaced by any other value (xor 0xff and xor 0x80)', () => {
    const envelope = v1.encrypt('short', AT)
    const payload = payloadOf(envelope)
    for (let byte = 0; byte < payload.length; byte++) {
      for (const mask of [0xff, 0x80, 0x01]) {
        const tampered = Buffer.from(payload)
        tampered[byte]! ^= mask
        decryptError(() => v1.decrypt(withPayload(envelope, tampered), AT))
      }
    }
  })

  it('rejects random bit flips for random secrets of 1-256 bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 256 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (bytes, position, bit) => {
          const secret = Buffer.from(bytes).toString('latin1')
          const envelope = v1.encrypt(secret, AT)
          const payload = payloadOf(envelope)
          payload[position % payload.length]! ^= 1 << bit
          decryptError(() => v1.decrypt(withPayload(envelope, payload), AT))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('rejects a ciphertext moved to another tenant, table or column', () => {
    const envelope = v1.encrypt(SECRET, AT)
    const moves: SecretLocation[] = [
      { ...AT, tenantId: 'globex' },
      { ...AT, tenantId: '_system' },
      { ...AT, tenantId: 'acme ' },
      { ...AT, table: 'wa_instances' },
      { ...AT, column: 'encrypted_token' },
      { tenantId: '_system', table: 'wa_instances', column: 'encrypted_webhook_token' },
    ]
    for (const at of moves) decryptError(() => v1.decrypt(envelope, at))
    expect(v1.decrypt(envelope, { ...AT })).toBe(SECRET)
  })

  it('binds the key id: relabelling an envelope with another known key id is rejected', () => {
    const both = vaultWith(
      [
        ['k1', K1],
        ['k2', K1],
      ],
      'k1',
    ) // even with identical key bytes
    const envelope = both.encrypt(SECRET, AT)
    decryptError(() => both.decrypt(envelope.replace(/^v1\.k1\./, 'v1.k2.'), AT))
  })

  it('rejects a truncated tag (15, 12, 4 bytes) and any envelope shorter than iv+tag', () => {
    const envelope = v1.encrypt(SECRET, AT)
    const payload = payloadOf(envelope)
    for (const tagBytes of [15, 12, 4, 0]) {
      const cut = payload.subarray(0, payload.length - (16 - tagBytes))
      decryptError(() => v1.decrypt(withPayload(envelope, cut), AT))
    }
    for (let length = 0; length < 28; length++) {
      const short = Buffer.from(payload.subarray(0, length))
      decryptError(() => v1.decrypt(`v1.k1.${short.toString('base64url')}`, AT))
    }
  })

  it('primitive: a truncated PREFIX of the true tag is rejected (Node DEP0182 trap)', () => {
    const iv = randomBytes(12)
    const aad = Buffer.from('aad')
    const { ciphertext, tag } = aes256GcmSeal(K1, iv, Buffer.from(SECRET), aad)
    expect(aes256GcmOpen(K1, iv, ciphertext, tag, aad).toString()).toBe(SECRET)
    for (let n = 0; n < 16; n++) {
      expect(() => aes256GcmOpen(K1, iv, ciphertext, tag.subarray(0, n), aad)).toThrow(AeadOpenError)
    }
    expect(() => aes256GcmOpen(K1, iv, ciphertext, Buffer.concat([tag, Buffer.from([0])]), aad)).toThrow(AeadOpenError)
  })

  it('every createDecipheriv call in the code base pins authTagLength: 16 (docs/security.md#stored-credentials, rule 2)', () => {
    const root = new URL('../..', import.meta.url).pathname
    const offenders: string[] = []
    let calls = 0
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (['node_modules', 'build', '.git', '.data', '.cache', 'public'].includes(entry.name)) continue
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (/\.(ts|tsx|js|mjs|cjs)$/.test(entry.name) && !entry.name.includes('.test.')) {
          const text = readFileSync(path, 'utf8')
          for (const m of text.matchAll(/createDecipheriv\(/g)) {
            calls++
            const call = text.slice(m.index, text.indexOf(')', m.index) + 1)
            if (!/authTagLength:\s*(16|GCM_TAG_BYTES)\b/.test(call)) offenders.push(relative(root, path))
          }
        }
      }
    }
    for (const dir of ['adapters', 'app', 'domain', 'server', 'db']) {
      try {
        walk(join(root, dir))
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      }
    }
    expect(calls).toBeGreaterThan(0) // at least ours in aes-gcm.ts
    expect(offenders).toEqual([])
  })

  it('rejects unknown key ids, other versions and malformed envelopes', () => {
    const envelope = vaultWith([['k9', K2]], 'k9').encrypt(SECRET, AT)
    decryptError(() => v1.decrypt(envelope, AT)) // k9 is not in v1's key ring
    const good = v1.encrypt(SECRET, AT)
    const payload = good.split('.')[2]!
    for (const bad of [
      '',
      'v1',
      'v1.k1',
      `v2.k1.${payload}`,
      `V1.k1.${payload}`,
      `v1.K1.${payload}`,
      `v1..${payload}`,
      `v1.k1.${payload}.x`,
      `v1.k1.${payload}=`,
      `v1.k1.${payload.slice(0, -1)}+`, // standard-base64 character
      `v1.k1.${payload} `,
      ` ${good}`,
      `v1.k1.!!!!`,
      `v1.${'a'.repeat(17)}.${payload}`,
    ]) {
      decryptError(() => v1.decrypt(bad, AT))
    }
    decryptError(() => v1.decrypt(undefined as unknown as string, AT))
    decryptError(() => v1.decrypt(good, { tenantId: '', table: AT.table, column: AT.column }))
  })

  it('never throws anything but CredentialDecryptError on arbitrary input (property, 1000 runs)', () => {
    const good = v1.encrypt(SECRET, AT)
    const mutated = fc
      .tuple(fc.nat({ max: good.length }), fc.nat({ max: good.length }), fc.string({ maxLength: 4 }))
      .map(([a, b, insert]) => good.slice(0, Math.min(a, b)) + insert + good.slice(Math.max(a, b)))
      .filter((s) => s !== good)
    const arbitrary = fc.oneof(
      fc.string(),
      fc.string().map((s) => `v1.k1.${s}`),
      fc.base64String().map((s) => `v1.k1.${s}`),
      fc.uint8Array({ maxLength: 64 }).map((b) => `v1.k1.${Buffer.from(b).toString('base64url')}`),
      mutated,
    )
    fc.assert(
      fc.property(arbitrary, (envelope) => {
        decryptError(() => v1.decrypt(envelope, AT))
      }),
      { numRuns: 1000 },
    )
  })

  it('keeps decrypting old-key envelopes after a new current key is added', () => {
    const old = v1.encrypt(SECRET, AT)
    const rotated = vaultWith(
      [
        ['k1', K1],
        ['k2', K2],
      ],
      'k2',
    )
    expect(rotated.currentKeyId()).toBe('k2')
    expect(rotated.decrypt(old, AT)).toBe(SECRET)
    const fresh = rotated.encrypt(SECRET, AT)
    expect(envelopeKeyId(fresh)).toBe('k2')
    expect(rotated.needsReencryption(old)).toBe(true)
    expect(rotated.needsReencryption(fresh)).toBe(false)
    expect(rotated.needsReencryption('garbage')).toBe(true)
    // A node still on the old key ring cannot read k2 envelopes (why rollout precedes promotion).
    decryptError(() => v1.decrypt(fresh, AT))
    // Pinning the old key as current while the new one is rolled out:
    const pinned = new AesGcmCredentialVault(
      new EncryptionKeyring(
        [
          ['k1', K1],
          ['k2', K2],
        ],
        'k2',
      ).withCurrent('k1'),
    )
    expect(envelopeKeyId(pinned.encrypt(SECRET, AT))).toBe('k1')
    expect(pinned.decrypt(fresh, AT)).toBe(SECRET)
  })

  it('produces different envelopes (and IVs) for the same plaintext', () => {
    const a = v1.encrypt(SECRET, AT)
    const b = v1.encrypt(SECRET, AT)
    expect(a).not.toBe(b)
    const ivs = new Set<string>()
    const n = 20_000
    for (let i = 0; i < n; i++) ivs.add(payloadOf(v1.encrypt('x', AT)).subarray(0, 12).toString('hex'))
    expect(ivs.size).toBe(n)
  })

  it('derives distinct per-tenant keys: same IV/plaintext under two tenants would not cross-decrypt', () => {
    // Decrypt tenant A's envelope with tenant B's subkey but tenant A's AAD: must fail, which
    // shows the key itself (not only the AAD) differs per tenant.
    const envelope = v1.encrypt(SECRET, AT)
    const p = payloadOf(envelope)
    const subkeyB = hkdfReference(K1, 'k1', 'globex')
    expect(() =>
      aes256GcmOpen(subkeyB, p.subarray(0, 12), p.subarray(12, -16), p.subarray(-16), associatedData(AT, 'k1')),
    ).toThrow(AeadOpenError)
  })

  it('matches the documented construction on a frozen envelope (format regression)', () => {
    // Written once by this implementation; changing the salt, info, AAD or layout breaks it,
    // and with it every row already stored.
    const frozen = 'v1.k1.SOSVSLPQY4YKVxtNJT4W2esVn5Wnss9Ua_j8hMol5pu3XHN5_B2WicWYyHM_dgjIYtlKotnFYRX0RVlI4VnkFlCJ7HQD'
    const expected = 'frozen-secret:{"instanceId":"1101000001"}'
    expect(v1.decrypt(frozen, AT)).toBe(expected)
    // Independent re-implementation from the doc comment in aes-gcm-credential-vault.ts.
    const p = payloadOf(frozen)
    const aad = Buffer.from('wa-pro/credential-vault|2:v1|4:acme|23:tenant_provider_configs|16:encrypted_config|2:k1|')
    expect(associatedData(AT, 'k1').equals(aad)).toBe(true)
    const plain = aes256GcmOpen(hkdfReference(K1, 'k1', 'acme'), p.subarray(0, 12), p.subarray(12, -16), p.subarray(-16), aad)
    expect(plain.toString('utf8')).toBe(expected)
  })

  it('bounds the subkey cache and still decrypts after eviction', () => {
    const vault = new AesGcmCredentialVault(new EncryptionKeyring([['k1', K1]], 'k1'), { subkeyCacheSize: 3 })
    const envelopes = Array.from({ length: 10 }, (_, i) => {
      const at = { ...AT, tenantId: `tenant${i}` }
      return { at, envelope: vault.encrypt(`secret-${i}`, at) }
    })
    expect(vault.cachedSubkeys).toBeLessThanOrEqual(3)
    envelopes.forEach(({ at, envelope }, i) => expect(vault.decrypt(envelope, at)).toBe(`secret-${i}`))
    expect(vault.cachedSubkeys).toBeLessThanOrEqual(3)
  })

  it('refuses to encrypt for an invalid location', () => {
    for (const at of [
      { ...AT, tenantId: '' },
      { ...AT, table: '' },
      { ...AT, column: 'a\nb' },
      { ...AT, tenantId: 't'.repeat(129) },
    ]) {
      expect(() => v1.encrypt(SECRET, at)).toThrow(TypeError)
    }
  })

  it('leaks no plaintext, key or envelope through errors, JSON or inspect', () => {
    const keyForms = (k: Buffer) => [k.toString('hex'), k.toString('base64'), k.toString('base64url').slice(0, 40)]
    const envelope = v1.encrypt(SECRET, AT)
    const errors = [
      decryptError(() => v1.decrypt(envelope, { ...AT, tenantId: 'globex' })),
      decryptError(() => v1.decrypt(envelope.slice(0, -3), AT)),
      decryptError(() => v1.decrypt(`v1.zz.${envelope.split('.')[2]}`, AT)),
      decryptError(() => v1.decrypt(SECRET, AT)),
    ]
    const forbidden = [SECRET, 'd75b3a66374942c5', envelope.split('.')[2]!, ...keyForms(K1)]
    for (const e of errors) {
      expect(e.message).toBe('Stored credentials could not be decrypted')
      const rendered = [e.message, String(e.stack), JSON.stringify(e), inspect(e, { depth: 5 }), String(e.cause)]
      for (const text of rendered) for (const f of forbidden) expect(text).not.toContain(f)
    }
    const vault = vaultWith(
      [
        ['k1', K1],
        ['k2', K2],
      ],
      'k2',
    )
    for (const text of [inspect(vault, { depth: 10, showHidden: true }), JSON.stringify(vault), String(vault)]) {
      for (const f of [...keyForms(K1), ...keyForms(K2)]) expect(text).not.toContain(f)
    }
  })
})

const vectorSchema = z.object({
  vectors: z
    .array(
      z.object({
        name: z.string(),
        key: z.string().regex(/^[0-9a-f]{64}$/),
        iv: z.string().regex(/^[0-9a-f]{24}$/),
        aad: z.string().regex(/^([0-9a-f]{2})*$/),
        plaintext: z.string().regex(/^([0-9a-f]{2})*$/),
        ciphertext: z.string().regex(/^([0-9a-f]{2})*$/),
        tag: z.string().regex(/^[0-9a-f]{32}$/),
        result: z.enum(['valid', 'invalid']),
      }),
    )
    .min(8),
})
const { vectors } = vectorSchema.parse(
  JSON.parse(readFileSync(new URL('../../tests/fixtures/aes-gcm-vectors.json', import.meta.url), 'utf8')),
)

describe('AES-256-GCM primitive against published test vectors', () => {
  it('covers AAD and expected-invalid cases', () => {
    expect(vectors.some((v) => v.aad !== '' && v.result === 'valid')).toBe(true)
    expect(vectors.some((v) => v.result === 'invalid')).toBe(true)
  })

  for (const v of vectors) {
    it(`${v.name} → ${v.result}`, () => {
      const hex = (s: string) => Buffer.from(s, 'hex')
      const [key, iv, aad, pt, ct, tag] = [v.key, v.iv, v.aad, v.plaintext, v.ciphertext, v.tag].map(hex) as [
        Buffer,
        Buffer,
        Buffer,
        Buffer,
        Buffer,
        Buffer,
      ]
      if (v.result === 'valid') {
        const sealed = aes256GcmSeal(key, iv, pt, aad)
        expect(sealed.ciphertext.toString('hex')).toBe(v.ciphertext)
        expect(sealed.tag.toString('hex')).toBe(v.tag)
        expect(aes256GcmOpen(key, iv, ct, tag, aad).toString('hex')).toBe(v.plaintext)
      } else {
        expect(() => aes256GcmOpen(key, iv, ct, tag, aad)).toThrow(AeadOpenError)
      }
    })
  }
})

/** HKDF exactly as documented in aes-gcm-credential-vault.ts, written out independently. */
function hkdfReference(ikm: Buffer, keyId: string, tenantId: string): Buffer {
  const lp = (s: string) => `${Buffer.byteLength(s)}:${s}|`
  const salt = Buffer.from('whatsapp-pro/credential-vault/hkdf-salt/v1')
  const info = Buffer.from(`${lp('wa-creds')}${lp('v1')}${lp(keyId)}${lp(tenantId)}`)
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32))
}
