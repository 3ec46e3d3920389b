import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { GreenApiSimulator, type SimulatorStore } from '../../adapters/green-api/simulator/simulator'
import { KyselySimulatorStore } from '../../adapters/kysely/kysely-simulator-store'
import { testDb } from '../utils/db'

/** The store of `npm start`'s simulator (decision 215), counting what the simulator asks of it. */
function countingStore() {
  const inner = new KyselySimulatorStore(testDb())
  const calls = { list: 0, insert: 0, save: 0 }
  const store: SimulatorStore = {
    list: () => (calls.list++, inner.list()),
    insert: (id, record) => (calls.insert++, inner.insert(id, record)),
    save: (id, record) => (calls.save++, inner.save(id, record)),
  }
  return { store, calls }
}

describe('the shared simulator under concurrent calls', () => {
  it('writes each instance a wave of calls changed once, and lists the store once per wave', async () => {
    const { store, calls } = countingStore()
    const sim = new GreenApiSimulator({ store, deliverWebhook: async () => {}, rateLimits: false })
    const ids = (await sim.ensureSharedInstances(30)).map((c) => c.instanceId)
    Object.assign(calls, { list: 0, insert: 0, save: 0 })

    // Like the refresher's reconciles: dozens of calls in flight, each changing its own instance.
    await Promise.all(ids.map((id) => sim.shared(() => sim.setState(id, 'authorized'))))

    // Before: every call's flush wrote every instance still unsaved by the others (hundreds).
    expect(calls.save).toBe(ids.length)
    expect(calls.insert).toBe(0)
    // The first call's read, then one shared by all that arrived while it ran.
    expect(calls.list).toBe(2)
    const stored = await sql<{ state: string }>`
      select record->>'state' as state from wa_simulator_instances where id = any(${ids})`.execute(testDb())
    expect(stored.rows.map((r) => r.state)).toEqual(ids.map(() => 'authorized'))
  })
})
