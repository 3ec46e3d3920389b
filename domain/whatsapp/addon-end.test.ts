import { describe, expect, it } from 'vitest'
import { createTestWorld } from '../testing/test-deps'
import { addonEndOf, unlinkAfterAddonEnd } from './addon-end'
import { generateQr } from './generate-qr'

const DAY = 86_400_000

/** A tenant `acme` with a linked number on instance `i-1`, its add-on then switched off. */
async function linkedThenEnded(config = {}) {
  const world = createTestWorld(config)
  world.addInstance('i-1')
  await generateQr(world.deps, { tenantId: 'acme', actor: { kind: 'user', userId: 'u1' }, publicUrl: 'https://crm.test' })
  world.provider.setState('i-1', 'authorized')
  await world.deps.features.changeFlags('acme', { whatsapp_enabled: false })
  return world
}

describe('the add-on ends (decision 169)', () => {
  it('says when it ended and when the number will be unlinked; null while it is on', async () => {
    const world = await linkedThenEnded({ addonGraceDays: 7 })
    const end = await addonEndOf(world.deps, { tenantId: 'acme' })
    expect(end).toEqual({ endedAt: world.clock.now(), unlinkAt: new Date(world.clock.now().getTime() + 7 * DAY) })
    await world.deps.features.changeFlags('acme', { whatsapp_enabled: true })
    expect(await addonEndOf(world.deps, { tenantId: 'acme' })).toBeNull()
  })

  it('unlinks only after the grace, as system:billing, through disconnect', async () => {
    const world = await linkedThenEnded({ addonGraceDays: 7 })
    world.clock.advance(7 * DAY - 60_000)
    expect(await unlinkAfterAddonEnd(world.deps)).toEqual({ unlinked: [] })
    expect(await world.connections.findByTenant('acme')).not.toBeNull()

    world.clock.advance(120_000)
    expect(await unlinkAfterAddonEnd(world.deps)).toEqual({ unlinked: ['acme'] })
    expect(await world.connections.findByTenant('acme')).toBeNull()
    expect(await world.instances.findClaimedBy('acme')).toBeNull()
    expect(world.provider.calls.filter((c) => c.method === 'logout')).toHaveLength(1)
    expect(world.audit.entries).toContainEqual(
      expect.objectContaining({ actor: 'system:billing', action: 'whatsapp.disconnect', outcome: 'success' }),
    )
    // Nothing left to do: a second run unlinks nobody.
    expect(await unlinkAfterAddonEnd(world.deps)).toEqual({ unlinked: [] })
  })

  it('a tenant switched back on keeps its number', async () => {
    const world = await linkedThenEnded({ addonGraceDays: 1 })
    await world.deps.features.changeFlags('acme', { whatsapp_enabled: true })
    world.clock.advance(2 * DAY)
    expect(await unlinkAfterAddonEnd(world.deps)).toEqual({ unlinked: [] })
    expect(await world.connections.findByTenant('acme')).not.toBeNull()
  })
})
