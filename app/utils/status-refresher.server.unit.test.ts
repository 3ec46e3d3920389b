import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTestWorld } from '../../domain/testing/test-deps'
import type { RefreshLane } from '../../domain/ports/connection-repository'
import { startStatusRefresher } from './status-refresher.server'

describe('startStatusRefresher (pass scheduling)', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  /** Passes of `passMs` (per lane, else both) over `forMs` of fake time: passes and peak overlap, per lane. */
  const run = async (passMs: number | Record<RefreshLane, number>, forMs: number) => {
    vi.useFakeTimers()
    const { deps } = createTestWorld()
    const passes: Record<RefreshLane, number> = { attempts: 0, linked: 0 }
    const inFlight: Record<RefreshLane, number> = { attempts: 0, linked: 0 }
    const peak: Record<RefreshLane, number> = { attempts: 0, linked: 0 }
    const stop = startStatusRefresher(deps, async (_wa, lane) => {
      passes[lane]++
      peak[lane] = Math.max(peak[lane], ++inFlight[lane])
      await new Promise((r) => setTimeout(r, typeof passMs === 'number' ? passMs : passMs[lane]))
      inFlight[lane]--
    })
    await vi.advanceTimersByTimeAsync(forMs)
    stop()
    return { passes, peak }
  }

  it('quick passes: one every quarter of the attempt interval (275 ms) in each lane, never two at once in one', async () => {
    const { passes, peak } = await run(10, 11_000)
    expect(passes).toEqual({ attempts: 40, linked: 40 })
    expect(peak).toEqual({ attempts: 1, linked: 1 })
  })

  it('passes longer than a tick are each followed by a rest as long as the pass (about half the time)', async () => {
    // 1 s passes over 20 s: back to back would be ~18; with the rests, 9 to 10.
    const { passes, peak } = await run(1_000, 20_000)
    for (const lane of ['attempts', 'linked'] as const) {
      expect(passes[lane]).toBeGreaterThanOrEqual(9)
      expect(passes[lane]).toBeLessThanOrEqual(10)
      expect(peak[lane]).toBe(1)
    }
  })

  it('a long wave of reconciles does not hold the link attempts back: each lane keeps its own pace', async () => {
    // A 20 s reconcile pass (a thousand checks of a slow Green-API): one pass at a time, then
    // its rest. The attempts' quick passes go on every tick meanwhile (one lane, before, did 1).
    const { passes } = await run({ attempts: 10, linked: 20_000 }, 11_000)
    expect(passes).toEqual({ attempts: 40, linked: 1 })
  })
})
