import { describe, expect, it } from 'vitest'
import { useWaApp } from '../utils/wa-harness'
import { newTenant, post } from './api-support'

// Breaker state is exported with bounded labels (three states, never an instance id).
const h = useWaApp({ env: { GREENAPI_BREAKER_THRESHOLD: '2', GREENAPI_BREAKER_HALF_OPEN_MS: '60000' } })

async function breakers(): Promise<Record<string, number>> {
  const text = await (await fetch(`${h.app.url}/metrics`)).text()
  const out: Record<string, number> = {}
  for (const m of text.matchAll(/^greenapi_breakers\{state="(\w+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2])
  return out
}

describe('greenapi_breakers gauge', () => {
  it('counts an instance breaker as open after repeated upstream failures', async () => {
    const a = await newTenant()
    expect((await post(h, '/api/wa/qr/generate', a)).status).toBe(200)
    const before = await breakers()
    expect(before.open ?? 0).toBe(0)
    expect(before.closed).toBeGreaterThanOrEqual(1)

    h.sim.fault({}).down(503)
    for (let i = 0; i < 3; i++) expect((await post(h, '/api/wa/qr/generate', a)).status).toBe(503)
    const after = await breakers()
    expect(after.open).toBeGreaterThanOrEqual(1)
    expect(Object.keys(after).sort()).toEqual(['closed', 'half_open', 'open'])
  })
})
