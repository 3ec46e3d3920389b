import { describe, expect, it } from 'vitest'
import { createTestWorld } from '../testing/test-deps'
import { DEFAULT_WHATSAPP_CONFIG } from './whatsapp-deps'
import { nextLogoutAttempt, retryQuarantinedLogouts } from './quarantine'

const policy = { baseDelayMs: 1000, maxDelayMs: 5000, maxFailures: 5, leaseMs: 60_000 }
const now = new Date('2026-11-25T10:00:00.000Z')

describe('quarantined instances', () => {
  it('back off exponentially (capped), then are broken at the last failure', () => {
    const delays = [1, 2, 3, 4].map((n) => {
      const next = nextLogoutAttempt(n, now, policy)
      return 'retryAt' in next ? next.retryAt.getTime() - now.getTime() : null
    })
    expect(delays).toEqual([1000, 2000, 4000, 5000])
    expect(nextLogoutAttempt(5, now, policy)).toEqual({ brokenAt: now })
  })

  it('the background pass skips instances in backoff and counts each failure once', async () => {
    const w = createTestWorld()
    w.deps.config = { ...DEFAULT_WHATSAPP_CONFIG, ...w.deps.config, logoutRetry: policy }
    w.addInstance('1101000009')
    const row = w.instances.rows.get('1101000009')!
    w.instances.rows.set('1101000009', { ...row, needsLogout: true })
    w.provider.failNext('logout', new Error('down'))
    expect(await retryQuarantinedLogouts(w.deps)).toEqual({ loggedOut: 0, failed: 1 })
    expect(await retryQuarantinedLogouts(w.deps)).toEqual({ loggedOut: 0, failed: 0 }) // in backoff
    w.clock.advance(1000)
    expect(await retryQuarantinedLogouts(w.deps)).toEqual({ loggedOut: 1, failed: 0 })
    expect(w.instances.rows.get('1101000009')?.needsLogout).toBe(false)
  })
})
