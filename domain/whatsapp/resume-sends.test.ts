import { describe, expect, it } from 'vitest'
import { createTestWorld } from '../testing/test-deps'
import { recordObservation } from './record-observation'

// Decision 171: the state becoming `authorized` wakes the instance's send queue at once.
async function linkedWorld() {
  const w = createTestWorld()
  const now = w.clock.now()
  await w.connections.saveLinkAttempt({
    tenantId: 'acme',
    instanceId: '1101000007',
    encryptedConfig: 'x',
    linkStartedAt: now,
    linkExpiresAt: new Date(now.getTime() + 300_000),
  })
  const observe = (status: 'authorized' | 'yellowCard' | 'sleepMode' | 'blocked') => {
    w.clock.advance(1000)
    return recordObservation(w.deps, 'acme', { status, checkedAt: w.clock.now(), source: 'webhook' })
  }
  return { w, observe }
}

describe('recordObservation wakes the send queue', () => {
  it('once per move to authorized (from pending, yellowCard, sleepMode), never on other moves or an unchanged state', async () => {
    const { w, observe } = await linkedWorld()
    await observe('authorized') // the link itself
    expect(w.sendQueue.woken).toEqual(['1101000007'])
    await observe('authorized') // unchanged
    await observe('yellowCard')
    await observe('blocked')
    expect(w.sendQueue.woken).toEqual(['1101000007'])
    await observe('authorized')
    await observe('sleepMode')
    await observe('authorized')
    expect(w.sendQueue.woken).toEqual(['1101000007', '1101000007', '1101000007'])
  })

  it('a failed wake is logged and does not undo the stored state (the recheck still comes)', async () => {
    const { w, observe } = await linkedWorld()
    await observe('authorized')
    await observe('yellowCard')
    w.sendQueue.failNext = true
    const result = await observe('authorized')
    expect(result).toMatchObject({ outcome: 'changed', record: { status: 'authorized' } })
    expect((await w.connections.findByTenant('acme'))?.status).toBe('authorized')
    expect(w.logger.lines.filter((l) => l.msg === 'send queue wake failed')).toHaveLength(1)
    expect(w.sendQueue.woken).toEqual(['1101000007'])
  })
})
