import { describe, expect, it } from 'vitest'
import { appToken } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { runOps } from '../utils/ops-cli'
import { SIM_API_URL, eventually, useWaApp } from '../utils/wa-harness'

/**
 * GREENAPI_MODE=pool: instances registered with the operator CLI are claimed atomically by link
 * attempts (one per tenant, never shared) and released on disconnect.
 */
describe('pool mode: instances added by ops, claimed by generate, released by disconnect', { timeout: 240_000 }, () => {
  const h = useWaApp({ env: { GREENAPI_MODE: 'pool' }, instances: 0 })
  const generate = (token: string, tenant: string) => h.api('/api/wa/qr/generate', { method: 'POST', token, tenant, json: {} })

  it('runs the pool lifecycle', async () => {
    // Nothing registered yet: 409 NO_INSTANCE_AVAILABLE.
    const empty = await generate(h.tokens.owner, 'macrea')
    expect(empty.status).toBe(409)
    expect((await empty.json()).error).toBe('NO_INSTANCE_AVAILABLE')

    const a = h.sim.addInstance({ instanceId: '1101500001' })
    const b = h.sim.addInstance({ instanceId: '1101500002' })
    for (const inst of [a, b]) {
      const r = await runOps(['instances', 'add', '--id', inst.instanceId, '--api-url', SIM_API_URL, '--token-stdin'], {
        stdin: inst.apiToken,
      })
      expect(r.code, r.stderr).toBe(0)
    }
    const flags = await runOps(['features', 'set', 'test_tenant_blocked', '--whatsapp', 'on'])
    expect(flags.code, flags.stderr).toBe(0)
    // A third tenant to exhaust the pool.
    await testDb().insertInto('tenants').values({ id: 'gamma', name: 'Gamma' }).execute()
    await testDb().insertInto('tenant_features').values({ tenant_id: 'gamma', whatsapp_enabled: true }).execute()
    await testDb().insertInto('memberships').values({ tenant_id: 'gamma', user_id: h.users.owner, role: 'owner' }).execute()
    const gammaToken = await appToken(testDb(), { sub: h.users.owner, tenant_id: 'gamma' })

    // Two tenants linking at once get different instances.
    const [r1, r2] = await Promise.all([
      generate(h.tokens.owner, 'macrea'),
      generate(h.tokens.blockedOwner, 'test_tenant_blocked'),
    ])
    expect(r1.status).toBe(200)
    expect(r2.status).toBe(200)
    const claims = await testDb().selectFrom('wa_instances').select(['id', 'tenant_id']).orderBy('id').execute()
    expect(new Set(claims.map((c) => c.tenant_id))).toEqual(new Set(['macrea', 'test_tenant_blocked']))
    expect(h.sim.instance(a.instanceId)?.webhookUrl).toContain(`/api/wa/webhooks/green-api/${a.instanceId}`)

    const exhausted = await generate(gammaToken, 'gamma')
    expect(exhausted.status).toBe(409)
    expect((await exhausted.json()).error).toBe('NO_INSTANCE_AVAILABLE')

    // The CLI shows the claims, never the tokens.
    const list = await runOps(['instances', 'list', '--json'])
    expect(list.code).toBe(0)
    expect(list.stdout).not.toContain(a.apiToken)
    expect(JSON.parse(list.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ mode: 'pool', tenant: 'macrea', webhook: 'yes' })]),
    )
    // A claimed instance is not removed without --force.
    const macreaInstance = claims.find((c) => c.tenant_id === 'macrea')!.id
    expect((await runOps(['instances', 'remove', macreaInstance])).code).toBe(1)

    // Link macrea, then disconnect: logout upstream, instance released and claimable again.
    expect(h.sim.scan(macreaInstance, h.sim.currentQrNonce(macreaInstance)!).ok).toBe(true)
    await h.sim.flushWebhooks()
    await eventually(async () => {
      expect(await (await h.api('/api/wa/qr/status', { token: h.tokens.owner, tenant: 'macrea' })).json()).toMatchObject({
        connected: true,
      })
    })
    const off = await h.api('/api/wa/disconnect', { method: 'POST', token: h.tokens.owner, tenant: 'macrea', json: {} })
    expect(off.status).toBe(200)
    expect(h.sim.callCount({ instanceId: macreaInstance, method: 'logout' })).toBe(1)
    expect(h.sim.instance(macreaInstance)?.state).toBe('notAuthorized')
    const released = await testDb()
      .selectFrom('wa_instances')
      .select(['tenant_id', 'encrypted_webhook_token'])
      .where('id', '=', macreaInstance)
      .executeTakeFirstOrThrow()
    expect(released).toEqual({ tenant_id: null, encrypted_webhook_token: null })

    const gamma = await generate(gammaToken, 'gamma')
    expect(gamma.status).toBe(200)
    const gammaClaim = await testDb()
      .selectFrom('wa_instances')
      .select('id')
      .where('tenant_id', '=', 'gamma')
      .executeTakeFirstOrThrow()
    expect(gammaClaim.id).toBe(macreaInstance)

    // Every operator change is in the audit log.
    const audit = await testDb().selectFrom('audit_log').select(['action', 'actor']).where('action', 'like', 'ops.%').execute()
    expect(audit.map((e) => e.action).sort()).toEqual(['ops.features.set', 'ops.instance.add', 'ops.instance.add'])
  })
})
