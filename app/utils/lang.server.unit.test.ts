import { describe, expect, it } from 'vitest'
import { langCookie, langOfHeaders } from './lang.server'

describe('langOfHeaders', () => {
  it('reads the lang cookie langCookie writes, before Accept-Language', async () => {
    const en = (await langCookie.serialize('en')).split(';')[0]!
    const fr = (await langCookie.serialize('fr')).split(';')[0]!
    expect(langOfHeaders(`a=1; ${en}`, 'fr')).toBe('en')
    expect(langOfHeaders(fr, 'en-GB,en;q=0.9')).toBe('fr')
    // What langCookie.parse reads, this reads.
    expect(await langCookie.parse(en)).toBe('en')
  })

  it('else Accept-Language (negotiated), else French; a bad cookie is no choice', () => {
    expect(langOfHeaders(null, 'en-GB,en;q=0.9')).toBe('en')
    expect(langOfHeaders(undefined, 'de, en;q=0.5')).toBe('en')
    expect(langOfHeaders('lang=garbage', 'en')).toBe('en')
    expect(langOfHeaders('lang=ImRlIg%3D%3D', null)).toBe('fr') // "de"
    expect(langOfHeaders(null, null)).toBe('fr')
  })
})
