import fs from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AesGcmCredentialVault } from '../../adapters/crypto/aes-gcm-credential-vault'
import { parseEncryptionKeys } from '../../adapters/crypto/encryption-keys'
import { GreenApiSimulator, createGreenApiSimulatorRouter } from '../../adapters/green-api/simulator'
import { configLocation } from '../../domain/whatsapp'
import type { CliIo } from '../../server/cli-io'
import { runOps } from '../../server/ops'
import { TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET } from '../utils/app'
import { testDb } from '../utils/db'

/**
 * The operator CLI runs the pages' use cases (in-process through runOps): a forced removal of a
 * claimed instance is the tenant's own disconnect, audited as `system:ops`, with its rules —
 * a failed logout quarantines the instance instead of removing it.
 */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-use-cases-'))
let sim: GreenApiSimulator
let simServer: Server
let simUrl: string

beforeAll(async () => {
  sim = new GreenApiSimulator({ rateLimits: false })
  const app = express()
  app.use(createGreenApiSimulatorRouter(sim, { mountPath: '/' }))
  simServer = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  simUrl = `http://127.0.0.1:${(simServer.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise<void>((resolve) => simServer.close(() => resolve()))
  fs.rmSync(dataDir, { recursive: true, force: true })
})

async function ops(argv: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    readStdin: async () => stdin,
    env: {
      NODE_ENV: 'test',
      DATABASE_URL: process.env.DATABASE_URL,
      JWT_SECRET: TEST_JWT_SECRET,
      WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
      WA_DATA_DIR: dataDir,
      GREENAPI_MODE: 'pool',
      LOG_LEVEL: 'silent',
    },
  }
  const code = await runOps(argv, io)
  return { code, stdout, stderr }
}

let seq = 0
/** A tenant connected on a pool instance of the simulator (as after a link through the app). */
async function connectedTenant(): Promise<{ tenantId: string; instanceId: string }> {
  seq += 1
  const tenantId = `opsuc-${process.pid}-${seq}`
  const instanceId = `11029${String(process.pid % 10000).padStart(4, '0')}${seq}`
  expect((await ops(['tenants', 'create', tenantId, '--name', 'Ops use cases', '--whatsapp', 'on'])).code).toBe(0)
  const creds = sim.addInstance({ instanceId })
  sim.authorize(instanceId, '+33611112222')
  const added = await ops(['instances', 'add', '--id', instanceId, '--api-url', simUrl, '--token-stdin'], creds.apiToken)
  expect(added.code, added.stderr).toBe(0)
  const vault = new AesGcmCredentialVault(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS }))
  await testDb()
    .updateTable('wa_instances')
    .set({ tenant_id: tenantId, claimed_at: new Date() })
    .where('id', '=', instanceId)
    .execute()
  await testDb()
    .insertInto('tenant_provider_configs')
    .values({
      tenant_id: tenantId,
      provider: 'green_api',
      instance_id: instanceId,
      encrypted_config: vault.encrypt(
        JSON.stringify({ instanceId, apiToken: creds.apiToken, apiUrl: simUrl }),
        configLocation(tenantId),
      ),
      connection_status: 'authorized',
      is_active: true,
      phone_number: '+33611112222',
    })
    .execute()
  return { tenantId, instanceId }
}

const auditOf = (tenantId: string) =>
  testDb()
    .selectFrom('audit_log')
    .select(['actor', 'action', 'outcome', 'details'])
    .where('tenant_id', '=', tenantId)
    .orderBy('id')
    .execute()

describe('ops instances remove --force', () => {
  it('disconnects the tenant through the disconnect use case, audited as system:ops, then removes the instance', async () => {
    const { tenantId, instanceId } = await connectedTenant()
    const forced = await ops(['instances', 'remove', instanceId, '--force'])
    expect(forced.code, forced.stderr).toBe(0)
    expect(sim.instance(instanceId)?.state).toBe('notAuthorized')
    expect(await testDb().selectFrom('wa_instances').select('id').where('id', '=', instanceId).executeTakeFirst()).toBeUndefined()
    const entries = await auditOf(tenantId)
    expect(entries.find((e) => e.action === 'whatsapp.disconnect')).toMatchObject({
      actor: 'system:ops',
      outcome: 'success',
      details: { logout: 'ok' },
    })
    expect(entries.find((e) => e.action === 'ops.instance.remove')).toMatchObject({
      actor: expect.stringMatching(/^operator:/),
      outcome: 'success',
    })
  })

  it('keeps a phone whose logout failed out of reach: the tenant is disconnected, the instance quarantined, not removed, exit 1', async () => {
    const { tenantId, instanceId } = await connectedTenant()
    const stop = sim.fault({ instanceId, methods: ['logout'] }).down(503)
    try {
      const forced = await ops(['instances', 'remove', instanceId, '--force'])
      expect(forced.code).toBe(1)
      expect(forced.stderr).toContain('quarantined')
    } finally {
      stop()
    }
    const row = await testDb()
      .selectFrom('wa_instances')
      .select(['tenant_id', 'needs_logout'])
      .where('id', '=', instanceId)
      .executeTakeFirstOrThrow()
    expect(row).toEqual({ tenant_id: null, needs_logout: true })
    expect(
      await testDb().selectFrom('tenant_provider_configs').select('id').where('tenant_id', '=', tenantId).executeTakeFirst(),
    ).toBeUndefined()
    const entries = await auditOf(tenantId)
    expect(entries.find((e) => e.action === 'whatsapp.disconnect')).toMatchObject({
      actor: 'system:ops',
      details: { logout: 'failed' },
    })
    expect(entries.find((e) => e.action === 'ops.instance.remove')).toMatchObject({
      outcome: 'failure',
      details: { error: 'logout_failed' },
    })
  })
})

describe('ops features set / upgrades handle', () => {
  it('switch flags through the setFeatureFlags use case, audited as system:ops beside the operator entry', async () => {
    seq += 1
    const tenantId = `opsuc-f-${process.pid}-${seq}`
    expect((await ops(['tenants', 'create', tenantId, '--name', 'Flags'])).code).toBe(0)
    const set = await ops(['features', 'set', tenantId, '--whatsapp', 'on', '--sms', 'off'])
    expect(set.code, set.stderr).toBe(0)
    const flags = await testDb()
      .selectFrom('tenant_features')
      .select(['whatsapp_enabled', 'sms_enabled'])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow()
    expect(flags).toEqual({ whatsapp_enabled: true, sms_enabled: false })
    const entries = await auditOf(tenantId)
    expect(entries.find((e) => e.action === 'features.set')).toMatchObject({
      actor: 'system:ops',
      details: { before: { whatsapp_enabled: false, sms_enabled: true }, after: { whatsapp_enabled: true, sms_enabled: false } },
    })
    expect(entries.find((e) => e.action === 'ops.features.set')).toMatchObject({ actor: expect.stringMatching(/^operator:/) })
  })

  it('handle an upgrade request through the handleUpgradeRequest use case; a second handle is refused', async () => {
    seq += 1
    const tenantId = `opsuc-u-${process.pid}-${seq}`
    expect((await ops(['tenants', 'create', tenantId, '--name', 'Upgrade'])).code).toBe(0)
    const request = await testDb()
      .insertInto('upgrade_requests')
      .values({ tenant_id: tenantId, feature: 'whatsapp', requested_by: null })
      .returning('id')
      .executeTakeFirstOrThrow()
    const handled = await ops(['upgrades', 'handle', String(request.id), '--enable'])
    expect(handled.code, handled.stderr).toBe(0)
    expect(
      (
        await testDb()
          .selectFrom('tenant_features')
          .select('whatsapp_enabled')
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow()
      ).whatsapp_enabled,
    ).toBe(true)
    const entries = await auditOf(tenantId)
    expect(entries.find((e) => e.action === 'whatsapp.upgrade_handled')).toMatchObject({
      actor: 'system:ops',
      details: { enabled: true },
    })
    const again = await ops(['upgrades', 'handle', String(request.id)])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('already handled')
  })
})
