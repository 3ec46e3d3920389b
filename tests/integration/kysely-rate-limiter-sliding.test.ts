import { describe, expect, it } from 'vitest'
import { KyselyRateLimiter } from '../../adapters/kysely/kysely-rate-limiter'
import { ManualClock } from '../../domain/testing/small-port-fakes'
import { uniqueSuffix } from '../factories'
import { otherProcessDb, testDb } from '../utils/db'

// Sliding windows (issue 13): fixed windows aligned on the clock accepted 7 test messages in 3
// minutes around the hour with a 5/h limit. Real PostgreSQL; time from an injected clock, or the
// database's own clock in the last test.
describe('KyselyRateLimiter: sliding windows', () => {
  it('5/h around the hour: 5 accepted from 10:58, none more until the first leaves the window (not 7 in 3 min)', async () => {
    const clock = new ManualClock('2026-11-25T10:58:00.000Z')
    const limiter = new KyselyRateLimiter(testDb(), { clock })
    const key = `wa:test:${uniqueSuffix()}`
    const accepted: string[] = []
    // One hit every 30 s from 10:58:00 to 11:01:00 (7 hits, across the hour).
    for (let i = 0; i < 7; i++) {
      if ((await limiter.hit(key, 5, 3600)).allowed) accepted.push(clock.now().toISOString())
      clock.advance(30_000)
    }
    expect(accepted).toEqual([
      '2026-11-25T10:58:00.000Z',
      '2026-11-25T10:58:30.000Z',
      '2026-11-25T10:59:00.000Z',
      '2026-11-25T10:59:30.000Z',
      '2026-11-25T11:00:00.000Z',
    ])

    // Refused until 11:58:00 + ε, when the first hit leaves the window; Retry-After says so.
    clock.set('2026-11-25T11:57:59.000Z')
    const refused = await limiter.hit(key, 5, 3600)
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1 })
    clock.set('2026-11-25T11:58:00.001Z')
    expect((await limiter.hit(key, 5, 3600)).allowed).toBe(true)
    // …and exactly one slot came back: the next is refused until 11:58:30.
    const next = await limiter.hit(key, 5, 3600)
    expect(next.allowed).toBe(false)
    expect(next.retryAfterSeconds).toBe(30)
  })

  it('refused hits do not count: hammering does not push the window forward', async () => {
    const clock = new ManualClock('2026-11-25T10:00:00.000Z')
    const limiter = new KyselyRateLimiter(testDb(), { clock })
    const key = `wa:qr:${uniqueSuffix()}`
    for (let i = 0; i < 10; i++) expect((await limiter.hit(key, 10, 60)).allowed).toBe(true)
    for (let s = 1; s < 60; s++) {
      clock.set(new Date(Date.parse('2026-11-25T10:00:00.000Z') + s * 1000))
      expect((await limiter.hit(key, 10, 60)).allowed).toBe(false)
    }
    clock.set('2026-11-25T10:01:00.001Z')
    expect((await limiter.hit(key, 10, 60)).allowed).toBe(true)
  })

  it('40 concurrent hits from two processes on a 10-limit: exactly 10 accepted', async () => {
    const other = otherProcessDb()
    try {
      const limiters = [new KyselyRateLimiter(testDb()), new KyselyRateLimiter(other)]
      const key = `wa:qr:${uniqueSuffix()}`
      const decisions = await Promise.all(Array.from({ length: 40 }, (_, i) => limiters[i % 2]!.hit(key, 10, 3600)))
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10)
      for (const d of decisions.filter((x) => !x.allowed)) expect(d.retryAfterSeconds).toBeGreaterThanOrEqual(3590)
    } finally {
      await other.destroy()
    }
  })

  it('on the database clock, across real window boundaries: never more than the limit in any span of the window', async () => {
    // 3 per 2 s, a hit every 40 ms for 3 s: the run crosses at least one 2-second boundary of
    // the epoch, where fixed windows accepted 3 just before and 3 just after. Checked on the
    // client's clock with a 100 ms margin for the clocks' difference.
    const limiter = new KyselyRateLimiter(testDb())
    const key = `rt:${uniqueSuffix()}`
    const acceptedAt: number[] = []
    const end = Date.now() + 3000
    while (Date.now() < end) {
      const before = Date.now()
      if ((await limiter.hit(key, 3, 2)).allowed) acceptedAt.push(before)
      await new Promise((r) => setTimeout(r, 40))
    }
    expect(acceptedAt.length).toBeGreaterThanOrEqual(3)
    for (const t of acceptedAt) {
      const inSpan = acceptedAt.filter((u) => u >= t && u < t + 1900)
      expect(inSpan.length, `accepted at ${acceptedAt.map((u) => u - acceptedAt[0]!).join(', ')} ms`).toBeLessThanOrEqual(3)
    }
  })
})
