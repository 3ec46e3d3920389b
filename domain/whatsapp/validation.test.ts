import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PhoneNumberSchema, TENANT_ID_PATTERN, TestMessageSchema, widToE164 } from './validation'

describe('validation schemas', () => {
  it('tenant ids', () => {
    for (const ok of ['macrea', 'test_tenant_blocked', 'a', '0-a_b', 'a'.repeat(63)])
      expect(TENANT_ID_PATTERN.test(ok)).toBe(true)
    for (const bad of ['', 'Macrea', '-a', '_a', 'a'.repeat(64), 'a b', 'a,b', 'é'])
      expect(TENANT_ID_PATTERN.test(bad)).toBe(false)
  })
  it('phone numbers are strict E.164', () => {
    for (const ok of ['+33612345678', '+14155552671', '+4912345678901', ' +33612345678 '])
      expect(PhoneNumberSchema.safeParse(ok).success).toBe(true)
    for (const bad of ['33612345678', '+0612345678', '+33 6 12 34 56 78', '+123456', '+1234567890123456', '0033612345678', '']) {
      expect(PhoneNumberSchema.safeParse(bad).success).toBe(false)
    }
  })
  it('any accepted phone is + then 7..15 digits', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = PhoneNumberSchema.safeParse(s)
        if (r.success) expect(r.data).toMatch(/^\+[1-9]\d{6,14}$/)
      }),
    )
  })
  it('test messages are 1..1000 characters', () => {
    expect(TestMessageSchema.safeParse('').success).toBe(false)
    expect(TestMessageSchema.safeParse('   ').success).toBe(false)
    expect(TestMessageSchema.safeParse('x'.repeat(1000)).success).toBe(true)
    expect(TestMessageSchema.safeParse('x'.repeat(1001)).success).toBe(false)
  })
  it('wid → E.164', () => {
    expect(widToE164('33612345678@c.us')).toBe('+33612345678')
    expect(widToE164('')).toBeNull()
    expect(widToE164(undefined)).toBeNull()
    expect(widToE164('120363@g.us')).toBeNull()
    expect(widToE164('0612345678@c.us')).toBeNull()
  })
})
