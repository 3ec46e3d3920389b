import { describe, expect, it } from 'vitest'
import { parseEnv } from './env.server'

// The key ring is parsed with the rest (env.encryptionKeys): the fixture holds a real 32-byte key.
const base = {
  DATABASE_URL: 'postgres://x@127.0.0.1/app_test',
  JWT_SECRET: 'x'.repeat(32),
  WA_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
}

describe('configuration', () => {
  it('uses the documented rate limits (docs/api.md#rate-limits) by default and accepts overrides as count/seconds', () => {
    const d = parseEnv(base)
    expect([d.WA_RATE_LIMIT_QR, d.WA_RATE_LIMIT_PAIRING, d.WA_RATE_LIMIT_TEST]).toEqual([
      { limit: 10, windowSeconds: 60 },
      { limit: 5, windowSeconds: 600 },
      { limit: 5, windowSeconds: 3600 },
    ])
    expect(parseEnv({ ...base, WA_RATE_LIMIT_TEST: '20/60' }).WA_RATE_LIMIT_TEST).toEqual({ limit: 20, windowSeconds: 60 })
    expect(() => parseEnv({ ...base, WA_RATE_LIMIT_QR: 'ten per minute' })).toThrow(/WA_RATE_LIMIT_QR/)
  })

  it('DATABASE_DIRECT_URL defaults to DATABASE_URL; another URL marks DATABASE_URL as a pooler', () => {
    expect(parseEnv(base)).toMatchObject({ DATABASE_DIRECT_URL: base.DATABASE_URL, DATABASE_POOLED: false })
    expect(parseEnv({ ...base, DATABASE_DIRECT_URL: base.DATABASE_URL }).DATABASE_POOLED).toBe(false)
    const pooled = parseEnv({
      ...base,
      DATABASE_URL: 'postgres://x@127.0.0.1:6432/app_test',
      DATABASE_DIRECT_URL: base.DATABASE_URL,
    })
    expect(pooled).toMatchObject({ DATABASE_DIRECT_URL: base.DATABASE_URL, DATABASE_POOLED: true })
  })

  it('names the variable, never its value, when a secret is weak', () => {
    let message = ''
    try {
      parseEnv({ ...base, JWT_SECRET: 'short-secret-value' })
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toContain('JWT_SECRET')
    expect(message).not.toContain('short-secret-value')
  })

  it('refuses the simulator in production and picks it by default elsewhere', () => {
    expect(parseEnv(base).GREENAPI_MODE).toBe('simulator')
    expect(() => parseEnv({ ...base, NODE_ENV: 'production' })).toThrow(/simulator cannot run in production/)
    expect(parseEnv({ ...base, GREENAPI_INSTANCE_ID: '1101000001', GREENAPI_API_TOKEN: 't' }).GREENAPI_MODE).toBe('shared')
  })

  it('requires PUBLIC_URL and METRICS_TOKEN in production, naming the variable', () => {
    const prod = { ...base, NODE_ENV: 'production', GREENAPI_INSTANCE_ID: '1101000001', GREENAPI_API_TOKEN: 't' }
    expect(() => parseEnv({ ...prod, METRICS_TOKEN: 'm'.repeat(32) })).toThrow(/PUBLIC_URL is required in production/)
    expect(() => parseEnv({ ...prod, PUBLIC_URL: 'https://crm.example' })).toThrow(/METRICS_TOKEN is required in production/)
    expect(parseEnv({ ...prod, PUBLIC_URL: 'https://crm.example', METRICS_TOKEN: 'm'.repeat(32) }).PUBLIC_URL).toBe(
      'https://crm.example',
    )
    // Development and tests keep working without them.
    expect(parseEnv(base).PUBLIC_URL).toBeUndefined()
  })

  it('parses the key ring and the OAuth providers with the rest; a bad key never shows in the message', () => {
    const env = parseEnv({ ...base, OAUTH_GITHUB_CLIENT_ID: 'id', OAUTH_GITHUB_CLIENT_SECRET: 'secret' })
    expect(env.encryptionKeys.currentKeyId).toBe('k1')
    expect(env.OAUTH_GITHUB_CLIENT_ID).toBe('id')
    expect(env.OAUTH_MICROSOFT_TENANT).toBe('common')
    let message = ''
    try {
      parseEnv({ ...base, WA_ENCRYPTION_KEYS: 'k1:not-a-32-byte-key-SECRETVALUE' })
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toMatch(/WA_ENCRYPTION_KEYS|key/i)
    expect(message).not.toContain('SECRETVALUE')
  })
})
