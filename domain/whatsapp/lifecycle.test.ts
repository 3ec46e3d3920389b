import { describe, expect, it } from 'vitest'
import { createTestWorld, type TestWorld } from '../testing/test-deps'
import { generateQr } from './generate-qr'
import { refreshDueStates } from './refresh-due-states'

// Shared mode's release of an expired attempt's instance (decision 212), with a fake clock.
const actor = { kind: 'user', userId: 'u-1' } as const
const SHARED = '1101000009'

async function expiredAttempt(): Promise<TestWorld> {
  const w = createTestWorld({ instanceMode: 'shared', sharedInstanceId: SHARED })
  w.addInstance(SHARED, 'shared')
  await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
  w.clock.advance(w.deps.config.linkAttemptMinutes * 60_000 + 1)
  return w
}

describe('shared mode: an expired attempt releases the instance', () => {
  it('never linked: the row goes, the instance is released (owing a logout), once', async () => {
    const w = await expiredAttempt()
    expect(await refreshDueStates(w.deps)).toMatchObject({ expired: 1 })
    expect(w.connections.rows.get('acme')).toBeUndefined()
    expect(await w.deps.instances.findById(SHARED)).toMatchObject({ tenantId: null, needsLogout: true })
    expect(w.connections.timeline.map((e) => e.source)).toEqual(['link', 'expire', 'disconnect'])
    expect(await refreshDueStates(w.deps)).toMatchObject({ expired: 0 })
  })

  it('a phone that linked at the last second (no webhook yet): recorded as linked, the instance kept', async () => {
    const w = await expiredAttempt()
    w.provider.setState(SHARED, 'authorized', '+33612345678')
    await refreshDueStates(w.deps)
    expect(w.connections.rows.get('acme')).toMatchObject({ status: 'authorized' })
    expect(await w.deps.instances.findById(SHARED)).toMatchObject({ tenantId: 'acme' })
  })

  it('pool mode keeps its claim (only the one shared instance is released)', async () => {
    const w = createTestWorld({ instanceMode: 'pool' })
    w.addInstance('1101000010', 'pool')
    await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
    w.clock.advance(w.deps.config.linkAttemptMinutes * 60_000 + 1)
    expect(await refreshDueStates(w.deps)).toMatchObject({ expired: 1 })
    expect(await w.deps.instances.findById('1101000010')).toMatchObject({ tenantId: 'acme' })
  })
})
