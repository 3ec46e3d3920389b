import { describe, expect, it } from 'vitest'
import { useWaApp } from '../utils/wa-harness'
import { expectError, newTenant, post } from './api-support'

// Per-tenant limits are configurable: WA_RATE_LIMIT_QR=2/60 allows two generates a minute.
const h = useWaApp({ env: { WA_RATE_LIMIT_QR: '2/60' } })

describe('configured rate limits', () => {
  it('applies WA_RATE_LIMIT_QR per tenant, with Retry-After', async () => {
    const a = await newTenant()
    const b = await newTenant()
    // Fixed windows aligned on the epoch: don't straddle a boundary.
    const left = 60_000 - (Date.now() % 60_000)
    if (left < 10_000) await new Promise((r) => setTimeout(r, left + 500))
    expect((await post(h, '/api/wa/qr/generate', a)).status).toBe(200)
    expect((await post(h, '/api/wa/qr/generate', a)).status).toBe(200)
    const third = await post(h, '/api/wa/qr/generate', a)
    await expectError(third, 429, 'RATE_LIMITED')
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0)
    // Another tenant has its own budget.
    expect((await post(h, '/api/wa/qr/generate', b)).status).toBe(200)
  })
})
