import { describe, expect, it } from 'vitest'
import { inSecondsWords, monthlyPrice, relativeWords } from './words'

const NBSP = '\u00a0'

describe('durations in words', () => {
  it.each([
    ['fr', 3525, 'dans 59 min'],
    ['en', 3525, 'in 59 min'],
    ['fr', 20, 'dans 20 s'],
    ['en', 20, 'in 20 sec'],
    ['fr', 59.2, 'dans 1 min'],
    ['fr', 245, 'dans 5 min'],
    ['fr', 3 * 3600 + 600, 'dans 3 h'],
    ['fr', 2 * 86400, 'dans 2 j'],
    ['fr', -3 * 3600, 'il y a 3 h'],
    ['en', -3 * 3600, '3 hr ago'],
    ['fr', -59, 'il y a 59 s'],
  ] as const)('%s, %d s → %s', (lang, seconds, expected) => {
    // Intl separates the number and the unit with a (narrow) no-break space: compare with plain ones.
    expect(inSecondsWords(lang, seconds).replace(/[\u00a0\u202f]/g, ' ')).toBe(expected)
  })

  it('never says seconds past a minute, nor "3525 s"', () => {
    expect(relativeWords('fr', 3525_000)).not.toMatch(/\d{3,} s/)
    expect(relativeWords('fr', 61_000).replace(/\s/g, ' ')).toBe('dans 2 min')
  })
})

describe('the monthly price', () => {
  it('French puts a no-break space before € and the period after; English puts € first', () => {
    expect(monthlyPrice('fr', 15)).toBe(`15${NBSP}€/mois`)
    expect(monthlyPrice('en', 15)).toBe('€15/month')
    expect(monthlyPrice('fr', 15.5)).toBe(`15,50${NBSP}€/mois`)
  })
})
