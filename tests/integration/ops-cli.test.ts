import fs from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyPassword } from '../../adapters/auth/scrypt-password-hasher'
import { AesGcmCredentialVault, envelopeKeyId } from '../../adapters/crypto/aes-gcm-credential-vault'
import { parseEncryptionKeys } from '../../adapters/crypto/encryption-keys'
import { GreenApiSimulator, createGreenApiSimulatorRouter } from '../../adapters/green-api/simulator'
import { INSTANCE_TOKEN_LOCATION, configLocation } from '../../domain/whatsapp'
import { TEST_ENCRYPTION_KEYS } from '../utils/app'
import { testDb } from '../utils/db'
import { OPS_ACTOR, runOps, type OpsRun } from '../utils/ops-cli'

/**
 * The operator CLI end to end against this file's test database, with the test key ring: most
 * commands run in this process (server/ops.ts `runOps`, the entry's own code path); a few run as
 * operators do, in a child process, for the exit codes, argv and stdin. A Green-API simulator served over
 * real HTTP in this process stands in for Green-API (logout on forced removal, partner list).
 */

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-cli-'))
const ACTOR = OPS_ACTOR
type Run = OpsRun
const ops = (args: string[], opts: { env?: Record<string, string>; stdin?: string; childProcess?: boolean } = {}) =>
  runOps(args, { ...opts, env: { WA_DATA_DIR: dataDir, ...opts.env } })

const CANARY_TOKEN = 'canaryInstanceToken0123456789abcdefCANARY'
let sim: GreenApiSimulator
let simServer: Server
let simUrl: string

beforeAll(async () => {
  sim = new GreenApiSimulator({ partnerToken: 'partner-token-for-ops-tests', rateLimits: false })
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

async function auditActions(): Promise<
  Array<{ action: string; actor: string; tenant_id: string | null; outcome: string; details: Record<string, unknown> }>
> {
  return testDb().selectFrom('audit_log').select(['action', 'actor', 'tenant_id', 'outcome', 'details']).orderBy('id').execute()
}

// Each command is a fresh Node process (≈1-6 s on a loaded 2-core machine): generous timeouts.
describe('ops CLI: help', { timeout: 300_000 }, () => {
  it('prints help for the program and every command, exit 0', async () => {
    const commands = [
      [],
      ['tenants'],
      ['tenants', 'create'],
      ['tenants', 'list'],
      ['users', 'create'],
      ['users', 'add'],
      ['users', 'set-role'],
      ['users', 'reset-password'],
      ['users', 'list'],
      ['features', 'set'],
      ['features', 'list'],
      ['instances', 'add'],
      ['instances', 'list'],
      ['instances', 'remove'],
      ['partner', 'list'],
      ['partner', 'delete'],
      ['keys', 'rotate'],
      ['keys', 'verify'],
      ['upgrades', 'list'],
      ['upgrades', 'handle'],
      ['audit', 'list'],
    ]
    const runs: Run[] = []
    for (let i = 0; i < commands.length; i += 4)
      runs.push(...(await Promise.all(commands.slice(i, i + 4).map((c) => ops([...c, '--help'])))))
    runs.forEach((r, i) => {
      expect(r.code, commands[i]!.join(' ')).toBe(0)
      expect(r.stdout).toMatch(/^Usage: ops/m)
    })
    expect(runs[0]!.stdout).toContain('tenants')
    expect(runs[0]!.stdout).toContain('keys')
    expect(runs[11]!.stdout).toContain('--token-stdin')
  })

  it('usage errors exit 2', async () => {
    const r = await ops(['users', 'add', 'a@b.test', '--tenant', 'x', '--role', 'king'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Allowed choices are owner, admin, member')
  })

  it('as a process: help exits 0, a usage error 2, a refused operation 1 (its one line on stderr)', async () => {
    const [help, usage, refused] = await Promise.all([
      ops([], { childProcess: true }),
      ops(['tenants', 'create', 'Bad Id', '--name', 'x'], { childProcess: true }),
      ops(['features', 'set', 'no-such-tenant', '--whatsapp', 'on'], { childProcess: true }),
    ])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: ops/m)
    expect(usage.code).toBe(2)
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stdout).toBe('')
  })
})

describe('ops CLI against the database', { timeout: 300_000 }, () => {
  it('creates a tenant, a user and a membership; unknown tenant or user → exit 1 with one line', async () => {
    const created = await ops(['tenants', 'create', 'acme', '--name', 'Acme Corp'])
    expect(created.code, created.stderr).toBe(0)
    expect(await testDb().selectFrom('tenants').select('name').where('id', '=', 'acme').executeTakeFirst()).toEqual({
      name: 'Acme Corp',
    })
    const flags = await testDb()
      .selectFrom('tenant_features')
      .selectAll()
      .where('tenant_id', '=', 'acme')
      .executeTakeFirstOrThrow()
    expect(flags.whatsapp_enabled).toBe(false)

    const dup = await ops(['tenants', 'create', 'acme', '--name', 'Again'])
    expect(dup.code).toBe(1)
    expect(dup.stderr.trim()).toBe('Tenant "acme" already exists.')
    expect((await ops(['tenants', 'create', 'Bad Id', '--name', 'x'])).code).toBe(2)

    const user = await ops(['users', 'create', 'Boss@Acme.test', '--name', 'Boss'])
    expect(user.code, user.stderr).toBe(0)
    const generated = user.stdout.trim()
    expect(generated.split('\n')).toHaveLength(1)
    expect(generated.length).toBeGreaterThanOrEqual(16)
    expect(user.stderr).toContain('shown once')
    const row = await testDb()
      .selectFrom('users')
      .select(['id', 'password_hash'])
      .where('email', '=', 'boss@acme.test')
      .executeTakeFirstOrThrow()
    expect(row.password_hash).not.toContain(generated)
    expect(await verifyPassword(generated, row.password_hash!)).toBe(true)

    const viaStdin = await ops(['users', 'create', 'helper@acme.test', '--password-stdin'], {
      stdin: 'a-long-enough-password-42\n',
    })
    expect(viaStdin.code, viaStdin.stderr).toBe(0)
    expect(viaStdin.stdout).toBe('')

    const add = await ops(['users', 'add', 'boss@acme.test', '--tenant', 'acme', '--role', 'owner'])
    expect(add.code, add.stderr).toBe(0)
    const addHelper = await ops(['users', 'add', 'helper@acme.test', '--tenant', 'acme', '--role', 'member'])
    expect(addHelper.code, addHelper.stderr).toBe(0)
    const promote = await ops(['users', 'set-role', 'helper@acme.test', '--tenant', 'acme', '--role', 'admin'])
    expect(promote.code, promote.stderr).toBe(0)
    const lastOwner = await ops(['users', 'set-role', 'boss@acme.test', '--tenant', 'acme', '--role', 'member'])
    expect(lastOwner.code).toBe(1)
    expect(lastOwner.stderr).toContain('last owner')
    const memberships = await testDb()
      .selectFrom('memberships')
      .select(['user_id', 'role'])
      .where('tenant_id', '=', 'acme')
      .orderBy('role')
      .execute()
    expect(memberships.map((m) => m.role)).toEqual(['admin', 'owner'])

    const unknownTenant = await ops(['users', 'add', 'boss@acme.test', '--tenant', 'nope', '--role', 'member'])
    expect(unknownTenant.code).toBe(1)
    expect(unknownTenant.stderr.trim().split('\n')).toHaveLength(1)
    expect(unknownTenant.stderr).toContain('Unknown tenant "nope"')
    const unknownUser = await ops(['users', 'add', 'ghost@acme.test', '--tenant', 'acme', '--role', 'member'])
    expect(unknownUser.code).toBe(1)
    expect(unknownUser.stderr.trim().split('\n')).toHaveLength(1)
    expect(unknownUser.stderr).toContain('Unknown user "ghost@acme.test"')
    expect((await ops(['features', 'set', 'nope', '--whatsapp', 'on'])).code).toBe(1)

    const reset = await ops(['users', 'reset-password', 'boss@acme.test'])
    expect(reset.code, reset.stderr).toBe(0)
    const after = await testDb()
      .selectFrom('users')
      .select('password_hash')
      .where('email', '=', 'boss@acme.test')
      .executeTakeFirstOrThrow()
    expect(await verifyPassword(reset.stdout.trim(), after.password_hash!)).toBe(true)
    expect(await verifyPassword(generated, after.password_hash!)).toBe(false)

    const list = await ops(['tenants', 'list', '--json'])
    expect(list.code).toBe(0)
    expect(JSON.parse(list.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'acme', name: 'Acme Corp', members: 2, whatsapp: 'off' })]),
    )
  })

  it('sets and lists feature flags', async () => {
    const set = await ops(['features', 'set', 'acme', '--whatsapp', 'on', '--sms', 'off'])
    expect(set.code, set.stderr).toBe(0)
    const flags = await testDb()
      .selectFrom('tenant_features')
      .selectAll()
      .where('tenant_id', '=', 'acme')
      .executeTakeFirstOrThrow()
    expect(flags).toMatchObject({ whatsapp_enabled: true, sms_enabled: false, email_enabled: true })
    expect((await ops(['features', 'set', 'acme'])).code).toBe(2)
    expect((await ops(['features', 'set', 'acme', '--whatsapp', 'maybe'])).code).toBe(2)
    const list = await ops(['features', 'list', '--tenant', 'acme', '--json'])
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ tenant: 'acme', whatsapp: 'on', sms: 'off', email: 'on' }),
    ])
  })

  it('adds pool instances with the token encrypted, lists them without tokens, removes them', async () => {
    const viaStdin = await ops(['instances', 'add', '--id', '7105000001', '--api-url', 'https://7105.api.greenapi.test'], {
      stdin: `${CANARY_TOKEN}\n`,
    })
    expect(viaStdin.code).toBe(2) // no token source chosen: stdin is only read with --token-stdin
    const added = await ops(
      ['instances', 'add', '--id', '7105000001', '--api-url', 'https://7105.api.greenapi.test/', '--token-stdin'],
      { stdin: `${CANARY_TOKEN}\n` },
    )
    expect(added.code, added.stderr).toBe(0)
    const viaEnv = await ops(
      ['instances', 'add', '--id', '7105000002', '--api-url', 'https://7105.api.greenapi.test', '--token-env', 'POOL_TOKEN'],
      {
        env: { POOL_TOKEN: `${CANARY_TOKEN}2` },
      },
    )
    expect(viaEnv.code, viaEnv.stderr).toBe(0)
    const again = await ops([
      'instances',
      'add',
      '--id',
      '7105000001',
      '--api-url',
      'https://7105.api.greenapi.test',
      '--token',
      CANARY_TOKEN,
    ])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('already registered')
    expect((await ops(['instances', 'add', '--id', 'abc', '--api-url', 'https://x.test', '--token', CANARY_TOKEN])).code).toBe(2)

    const rows = await testDb().selectFrom('wa_instances').selectAll().where('mode', '=', 'pool').orderBy('id').execute()
    expect(rows.map((r) => r.id)).toEqual(['7105000001', '7105000002'])
    const vault = new AesGcmCredentialVault(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS }))
    for (const r of rows) {
      expect(r.api_url).toBe('https://7105.api.greenapi.test')
      expect(r.encrypted_token).not.toContain(CANARY_TOKEN)
      expect(r.encrypted_token).toMatch(/^v1\.k2\./)
    }
    expect(vault.decrypt(rows[0]!.encrypted_token, INSTANCE_TOKEN_LOCATION)).toBe(CANARY_TOKEN)
    expect(vault.decrypt(rows[1]!.encrypted_token, INSTANCE_TOKEN_LOCATION)).toBe(`${CANARY_TOKEN}2`)

    const table = await ops(['instances', 'list'])
    const json = await ops(['instances', 'list', '--mode', 'pool', '--json'])
    for (const r of [table, json, added, viaEnv, again]) {
      expect(r.stdout + r.stderr).not.toContain(CANARY_TOKEN)
      expect(r.stdout + r.stderr).not.toContain('v1.k2.')
    }
    expect(table.stdout).toContain('7105000001')
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ id: '7105000001', mode: 'pool', tenant: null, key: 'k2' }),
      expect.objectContaining({ id: '7105000002', mode: 'pool', tenant: null, key: 'k2' }),
    ])

    const removed = await ops(['instances', 'remove', '7105000002'])
    expect(removed.code, removed.stderr).toBe(0)
    expect(
      await testDb().selectFrom('wa_instances').select('id').where('id', '=', '7105000002').executeTakeFirst(),
    ).toBeUndefined()
    const unknown = await ops(['instances', 'remove', '7105000002'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('Unknown instance')
  })

  it('refuses to remove a claimed instance unless --force, which logs the phone out upstream first', async () => {
    const creds = sim.addInstance({ instanceId: '1101777001' })
    sim.authorize(creds.instanceId, '+33611112222')
    const added = await ops(['instances', 'add', '--id', creds.instanceId, '--api-url', simUrl, '--token-stdin', '--check'], {
      stdin: creds.apiToken,
    })
    expect(added.code, added.stderr).toBe(0)
    // A tenant holds it and is connected (as after a link through the app).
    const vault = new AesGcmCredentialVault(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS }))
    await testDb()
      .updateTable('wa_instances')
      .set({ tenant_id: 'acme', claimed_at: new Date() })
      .where('id', '=', creds.instanceId)
      .execute()
    await testDb()
      .insertInto('tenant_provider_configs')
      .values({
        tenant_id: 'acme',
        provider: 'green_api',
        instance_id: creds.instanceId,
        encrypted_config: vault.encrypt(
          JSON.stringify({ instanceId: creds.instanceId, apiToken: creds.apiToken, apiUrl: simUrl }),
          configLocation('acme'),
        ),
        connection_status: 'authorized',
        is_active: true,
        phone_number: '+33611112222',
      })
      .execute()

    const refused = await ops(['instances', 'remove', creds.instanceId])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('claimed by tenant "acme"')
    expect(sim.instance(creds.instanceId)?.state).toBe('authorized')

    const forced = await ops(['instances', 'remove', creds.instanceId, '--force'])
    expect(forced.code, forced.stderr).toBe(0)
    expect(sim.callCount({ instanceId: creds.instanceId, method: 'logout' })).toBe(1)
    expect(sim.instance(creds.instanceId)?.state).toBe('notAuthorized')
    expect(
      await testDb().selectFrom('wa_instances').select('id').where('id', '=', creds.instanceId).executeTakeFirst(),
    ).toBeUndefined()
    expect(
      await testDb().selectFrom('tenant_provider_configs').select('id').where('tenant_id', '=', 'acme').executeTakeFirst(),
    ).toBeUndefined()
    const event = await testDb()
      .selectFrom('wa_status_events')
      .selectAll()
      .where('tenant_id', '=', 'acme')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow()
    expect(event).toMatchObject({ from_status: 'authorized', to_status: 'notAuthorized', source: 'disconnect' })
  })

  it('lists partner instances next to local rows and flags orphans', async () => {
    const orphan = sim.addInstance({ instanceId: '1101888001', name: 'orphan' })
    const env = { GREENAPI_PARTNER_URL: simUrl, GREENAPI_PARTNER_TOKEN: 'partner-token-for-ops-tests' }
    const list = await ops(['partner', 'list', '--json'], { env })
    expect(list.code, list.stderr).toBe(0)
    const rows = JSON.parse(list.stdout) as Array<{ id: string; local: string }>
    expect(rows).toEqual(
      expect.arrayContaining([
        { id: orphan.instanceId, name: 'orphan', created: expect.any(String), deleted: 'no', local: 'ORPHAN' },
      ]),
    )
    expect(list.stdout).not.toContain(orphan.apiToken)
    const del = await ops(['partner', 'delete', orphan.instanceId], { env })
    expect(del.code, del.stderr).toBe(0)
    expect(sim.instance(orphan.instanceId)?.deleted).toBe(true)
    const badToken = await ops(['partner', 'list'], { env: { ...env, GREENAPI_PARTNER_TOKEN: 'wrong' } })
    expect(badToken.code).toBe(1)
    expect(badToken.stderr).not.toContain('wrong')
    expect((await ops(['partner', 'list'])).code).toBe(1)
  })

  it('lists and handles upgrade requests', async () => {
    const boss = await testDb().selectFrom('users').select('id').where('email', '=', 'boss@acme.test').executeTakeFirstOrThrow()
    await testDb().insertInto('tenants').values({ id: 'beta', name: 'Beta' }).execute()
    const req = await testDb()
      .insertInto('upgrade_requests')
      .values({ tenant_id: 'beta', feature: 'whatsapp', requested_by: boss.id })
      .returning('id')
      .executeTakeFirstOrThrow()
    const open = await ops(['upgrades', 'list', '--open', '--json'])
    expect(open.code, open.stderr).toBe(0)
    expect(JSON.parse(open.stdout)).toEqual([
      expect.objectContaining({ id: String(req.id), tenant: 'beta', requested_by: 'boss@acme.test', handled: null }),
    ])
    const handled = await ops(['upgrades', 'handle', String(req.id), '--enable'])
    expect(handled.code, handled.stderr).toBe(0)
    const row = await testDb()
      .selectFrom('upgrade_requests')
      .select('handled_at')
      .where('id', '=', req.id)
      .executeTakeFirstOrThrow()
    expect(row.handled_at).toBeInstanceOf(Date)
    const flags = await testDb()
      .selectFrom('tenant_features')
      .select('whatsapp_enabled')
      .where('tenant_id', '=', 'beta')
      .executeTakeFirstOrThrow()
    expect(flags.whatsapp_enabled).toBe(true)
    expect(JSON.parse((await ops(['upgrades', 'list', '--open', '--json'])).stdout)).toEqual([])
    const twice = await ops(['upgrades', 'handle', String(req.id)])
    expect(twice.code).toBe(1)
    expect(twice.stderr).toContain('already handled')
    expect((await ops(['upgrades', 'handle', '999999'])).code).toBe(1)
  })

  it('rotates keys: prints the new key ring once, moves every row to the new key, verify tells stale from current', async () => {
    const db = testDb()
    const oldRing = parseEncryptionKeys({ WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS })
    const underK1 = new AesGcmCredentialVault(oldRing.withCurrent('k1'))
    // Rows under both old keys: instances (k1 and k2) and tenants' provider configs (k1).
    for (let i = 0; i < 7; i++) {
      const id = `7200000${String(i).padStart(3, '0')}`
      await db
        .insertInto('wa_instances')
        .values({
          id,
          mode: 'pool',
          api_url: 'https://7200.api.greenapi.test',
          encrypted_token: underK1.encrypt(`tok-${i}`, INSTANCE_TOKEN_LOCATION),
        })
        .execute()
    }
    await db
      .insertInto('tenant_provider_configs')
      .values({
        tenant_id: 'acme',
        provider: 'green_api',
        instance_id: '7200000000',
        encrypted_config: underK1.encrypt(
          '{"instanceId":"7200000000","apiToken":"tok-0","apiUrl":"https://7200.api.greenapi.test"}',
          configLocation('acme'),
        ),
        connection_status: 'notAuthorized',
      })
      .execute()

    const before = await ops(['keys', 'verify', '--json'])
    expect(before.code).toBe(1)
    expect(JSON.parse(before.stdout)).toMatchObject({ currentKeyId: 'k2', stale: 8 })

    const rotate = await ops(['keys', 'rotate', '--batch-size', '3'])
    expect(rotate.code, rotate.stderr).toBe(0)
    const lines = rotate.stdout.trim().split('\n')
    expect(lines).toHaveLength(1)
    const newKeys = /^WA_ENCRYPTION_KEYS=(.+)$/.exec(lines[0]!)?.[1]
    expect(newKeys).toBeDefined()
    expect(newKeys!.startsWith(`${TEST_ENCRYPTION_KEYS},`)).toBe(true)
    expect(rotate.stderr).toContain('SECRET')
    expect(rotate.stderr).toMatch(/re-encrypting wa_instances\.encrypted_token \(up to id \d+\): \d+ scanned/)
    const newRing = parseEncryptionKeys({ WA_ENCRYPTION_KEYS: newKeys! })
    expect(newRing.currentKeyId).not.toBe('k2')
    expect(rotate.stderr).not.toContain(newKeys!.split(',').at(-1)!.split(':')[1]!)

    const newVault = new AesGcmCredentialVault(newRing)
    const instances = await db.selectFrom('wa_instances').select(['id', 'encrypted_token']).execute()
    expect(instances.length).toBeGreaterThanOrEqual(8)
    for (const r of instances) {
      expect(envelopeKeyId(r.encrypted_token)).toBe(newRing.currentKeyId)
      newVault.decrypt(r.encrypted_token, INSTANCE_TOKEN_LOCATION)
    }
    const cfg = await db
      .selectFrom('tenant_provider_configs')
      .select('encrypted_config')
      .where('tenant_id', '=', 'acme')
      .executeTakeFirstOrThrow()
    expect(JSON.parse(newVault.decrypt(cfg.encrypted_config, configLocation('acme')))).toMatchObject({ apiToken: 'tok-0' })

    // The running app still on the old ring sees stale-or-undecryptable rows; with the new ring all is well.
    expect((await ops(['keys', 'verify'])).code).toBe(1)
    const ok = await ops(['keys', 'verify'], { env: { WA_ENCRYPTION_KEYS: newKeys! } })
    expect(ok.code, ok.stdout + ok.stderr).toBe(0)
    expect(ok.stderr).toContain('(removable): k1, k2')
    // Resumable and idempotent: a rerun has nothing left to do.
    const resume = await ops(['keys', 'rotate', '--resume'], { env: { WA_ENCRYPTION_KEYS: newKeys! } })
    expect(resume.code, resume.stderr).toBe(0)
    expect(resume.stdout).toBe('')
    expect(resume.stderr).toContain('Done: 0 re-encrypted')
    // Old keys dropped: still everything decrypts.
    const onlyNew = newKeys!.split(',').at(-1)!
    expect((await ops(['keys', 'verify'], { env: { WA_ENCRYPTION_KEYS: onlyNew } })).code).toBe(0)
  })

  it('audits every change with the operator as actor', async () => {
    const entries = await auditActions()
    const ops_ = entries.filter((e) => e.action.startsWith('ops.'))
    expect(ops_.every((e) => e.actor === ACTOR)).toBe(true)
    const actions = new Set(ops_.map((e) => e.action))
    for (const a of [
      'ops.tenant.create',
      'ops.user.create',
      'ops.membership.add',
      'ops.membership.set_role',
      'ops.user.reset_password',
      'ops.features.set',
      'ops.instance.add',
      'ops.instance.remove',
      'ops.partner.delete',
      'ops.upgrade.handle',
      'ops.keys.rotate',
    ]) {
      expect(actions, a).toContain(a)
    }
    expect(ops_.find((e) => e.action === 'ops.features.set')).toMatchObject({
      tenant_id: 'acme',
      details: { after: { whatsapp_enabled: true } },
    })
    expect(ops_.find((e) => e.action === 'ops.instance.remove' && e.tenant_id === 'acme')).toMatchObject({
      details: { forced: true, logout: 'ok' },
    })
    // No secret in the audit trail.
    const all = JSON.stringify(entries)
    expect(all).not.toContain(CANARY_TOKEN)
    expect(all).not.toMatch(/v1\.k[0-9a-z]+\./)
    // Refused operations change nothing, so they leave no success entry behind.
    expect(ops_.filter((e) => e.action === 'ops.tenant.create')).toHaveLength(1)
  })
})
