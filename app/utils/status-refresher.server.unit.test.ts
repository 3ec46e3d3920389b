import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTestWorld } from '../../domain/testing/test-deps'
import { startStatusRefresher } from './status-refresher.server'

describe('startStatusRefresher (pass scheduling)', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  const run = async (passMs: number, forMs: number) => {
    vi.useFakeTimers()
    const { deps } = createTestWorld()
    let passes = 0
    let inFlight = 0
    let peak = 0
    const stop = startStatusRefresher(deps, async () => {
      passes++
      peak = Math.max(peak, ++inFlight)
      await new Promise((r) => setTimeout(r, passMs))
      inFlight--
    })
    await vi.advanceTimersByTimeAsync(forMs)
    stop()
    return { passes, peak }
  }

  it('quick passes: one every quarter of the attempt interval (275 ms), never two at once', async () => {
    const { passes, peak } = await run(10, 11_000)
    expect(passes).toBe(40)
    expect(peak).toBe(1)
  })

  it('passes longer than a tick are each followed by a rest as long as the pass (about half the time)', async () => {
    // 1 s passes over 20 s: back to back would be ~18; with the rests, 9 to 10.
    const { passes, peak } = await run(1_000, 20_000)
    expect(passes).toBeGreaterThanOrEqual(9)
    expect(passes).toBeLessThanOrEqual(10)
    expect(peak).toBe(1)
  })
})
