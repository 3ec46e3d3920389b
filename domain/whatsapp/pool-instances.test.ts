import { describe, expect, it } from 'vitest'
import { createTestWorld } from '../testing/test-deps'
import { addPoolInstance } from './pool-instances'
import { INSTANCE_TOKEN_LOCATION } from './use-case-helpers'

const operator = { kind: 'operator', name: 'alice' } as const
const input = {
  instanceId: '1101000077',
  apiUrl: 'https://7105.api.greenapi.test',
  apiToken: 'canary-token-1234',
  replace: false,
}

describe('addPoolInstance', () => {
  it('stores the token encrypted for the instance location and audits the operator, never the token', async () => {
    const w = createTestWorld()
    expect(await addPoolInstance(w.deps, { ...input, actor: operator })).toEqual({ outcome: 'added' })
    const row = await w.deps.instances.findById(input.instanceId)
    expect(row).toMatchObject({ mode: 'pool', apiUrl: input.apiUrl, tenantId: null })
    expect(row?.encryptedToken).not.toContain(input.apiToken)
    expect(w.vault.decrypt(row!.encryptedToken, INSTANCE_TOKEN_LOCATION)).toBe(input.apiToken)
    expect(w.audit.entries).toEqual([
      expect.objectContaining({
        actor: 'operator:alice',
        action: 'ops.instance.add',
        outcome: 'success',
        details: { instance_id: input.instanceId, mode: 'pool', api_url: input.apiUrl },
      }),
    ])
    expect(JSON.stringify(w.audit.entries)).not.toContain(input.apiToken)
  })

  it('a known instance: unchanged without replace; replaced when unclaimed; refused when claimed (nothing audited)', async () => {
    const w = createTestWorld()
    await addPoolInstance(w.deps, { ...input, actor: operator })
    expect(await addPoolInstance(w.deps, { ...input, apiToken: 'other-token-5678', actor: operator })).toEqual({
      outcome: 'exists',
    })
    expect(w.vault.decrypt((await w.deps.instances.findById(input.instanceId))!.encryptedToken, INSTANCE_TOKEN_LOCATION)).toBe(
      input.apiToken,
    )
    const moved = { ...input, apiUrl: 'https://7106.api.greenapi.test', apiToken: 'other-token-5678', replace: true }
    expect(await addPoolInstance(w.deps, { ...moved, actor: operator })).toEqual({ outcome: 'replaced' })
    expect(w.audit.entries.map((e) => e.action)).toEqual(['ops.instance.add', 'ops.instance.replace'])

    await w.deps.instances.claimById(input.instanceId, 'acme', w.clock.now())
    expect(await addPoolInstance(w.deps, { ...moved, actor: operator })).toEqual({
      outcome: 'refused',
      reason: 'claimed',
      tenantId: 'acme',
    })
    expect(w.audit.entries).toHaveLength(2)
  })
})
