import { describe, expect, it } from 'vitest'
import { observedAccount, sameAccount, type LinkedAccount } from './linked-account'

// A fact the type does not hold (yet): the functions must carry it without knowing its name.
const withAvatar = { phone: '+33612345678', avatarUrl: 'https://pps.example/a.jpg' } as LinkedAccount

describe('LinkedAccount', () => {
  it('sameAccount compares every fact, including ones it does not name', () => {
    expect(sameAccount({ phone: '+33612345678' }, { phone: '+33612345678' })).toBe(true)
    expect(sameAccount({ phone: '+33612345678' }, { phone: '+33600000000' })).toBe(false)
    expect(sameAccount({ phone: '+33612345678' }, withAvatar)).toBe(false)
    expect(sameAccount(null, null)).toBe(true)
    expect(sameAccount(null, { phone: '+33612345678' })).toBe(false)
  })

  it('observedAccount: undefined keeps, null clears, the same phone adds its facts, another phone replaces', () => {
    expect(observedAccount(withAvatar, undefined)).toBe(withAvatar)
    expect(observedAccount(withAvatar, null)).toBeNull()
    // A webhook's wid knows the phone only: what was known about that account stays.
    expect(observedAccount(withAvatar, { phone: '+33612345678' })).toEqual(withAvatar)
    expect(observedAccount({ phone: '+33612345678' }, withAvatar)).toEqual(withAvatar)
    expect(observedAccount(withAvatar, { phone: '+33600000000' })).toEqual({ phone: '+33600000000' })
    expect(observedAccount(null, { phone: '+33600000000' })).toEqual({ phone: '+33600000000' })
  })
})
