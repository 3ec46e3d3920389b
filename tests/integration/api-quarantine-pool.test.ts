import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { AesGcmCredentialVault } from '../../adapters/crypto/aes-gcm-credential-vault'
import { parseEncryptionKeys } from '../../adapters/crypto/encryption-keys'
import { INSTANCE_TOKEN_LOCATION } from '../../domain/whatsapp'
import { TEST_ENCRYPTION_KEYS } from '../utils/app'
import { testDb } from '../utils/db'
import { runOps } from '../utils/ops-cli'
import { SIM_API_URL, eventually, useWaApp } from '../utils/wa-harness'
import { instanceRow, linkByScan, newTenant, post, scanTarget } from './api-support'

// Pool mode, 19 instances, one of them quarantined because Green-API refuses its logout
// (decision 085): the others keep serving, the quarantined one is retried in the background with
// backoff and, after repeated failures, marked broken, logged at error level and shown by ops.
// A 100 ms base backoff keeps the five attempts within a couple of seconds.
const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-quarantine-')), 'app.log')
const h = useWaApp({
  env: { GREENAPI_MODE: 'pool', WA_LOGOUT_RETRY_BASE_MS: '100', LOG_LEVEL: 'info', LOG_FILE: logFile },
  instances: 0,
})
const OLDEST = '1101880000'
const MAX_FAILURES = 5

function logLines(): Array<Record<string, unknown>> {
  return fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

describe('pool mode: a quarantined instance does not block the other tenants', () => {
  const tokens = new Map<string, string>()
  beforeAll(async () => {
    const vault = new AesGcmCredentialVault(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS }))
    // One at a time so created_at orders them: OLDEST is the one every claim used to pick first.
    for (let i = 0; i < 19; i++) {
      const inst = h.sim.addInstance({ instanceId: `11018800${String(i).padStart(2, '0')}` })
      tokens.set(inst.instanceId, inst.apiToken)
      await testDb()
        .insertInto('wa_instances')
        .values({
          id: inst.instanceId,
          mode: 'pool',
          api_url: SIM_API_URL,
          encrypted_token: vault.encrypt(inst.apiToken, INSTANCE_TOKEN_LOCATION),
        })
        .execute()
    }
  })

  it('other tenants link on healthy instances; the quarantined one is retried with backoff, then marked broken, logged and listed', async () => {
    const a = await newTenant()
    expect(await linkByScan(h, a, '+33600000011')).toBe(OLDEST)
    h.sim.fault({ instanceId: OLDEST, methods: ['logout'] }).down(503)
    expect((await post(h, '/api/wa/disconnect', a)).status).toBe(200)
    expect(await instanceRow(OLDEST)).toMatchObject({ tenant_id: null, needs_logout: true })

    // Before: B drew the quarantined instance (oldest first), its logout failed again → 503.
    const b = await newTenant()
    const gen = await post(h, '/api/wa/qr/generate', b)
    expect(gen.status, await gen.clone().text()).toBe(200)
    const { instanceId } = await scanTarget(((await gen.json()) as { qrCode: string }).qrCode)
    expect(instanceId).not.toBe(OLDEST)

    // The background retries give up after MAX_FAILURES consecutive failures (the disconnect's
    // own failed logout is the first): broken, never retried or claimed again.
    const broken = await eventually(async () => {
      const row = await instanceRow(OLDEST)
      expect(row.broken_at).not.toBeNull()
      return row
    }, 15_000)
    expect(broken).toMatchObject({ tenant_id: null, needs_logout: true, logout_failures: MAX_FAILURES })
    expect(h.sim.callCount({ instanceId: OLDEST, method: 'logout' })).toBeLessThanOrEqual(MAX_FAILURES)
    expect(h.sim.instance(OLDEST)?.state).toBe('authorized')

    const errors = logLines().filter((l) => l.level === 50 && l.instanceId === OLDEST)
    expect(errors).toHaveLength(1)
    expect(String(errors[0]!.msg)).toContain('broken')
    expect(fs.readFileSync(logFile, 'utf8')).not.toContain(tokens.get(OLDEST)!)

    // Still out of the pool for every later tenant.
    const c = await newTenant()
    const genC = await post(h, '/api/wa/qr/generate', c)
    expect(genC.status).toBe(200)
    expect((await scanTarget(((await genC.json()) as { qrCode: string }).qrCode)).instanceId).not.toBe(OLDEST)

    // Operators see it.
    const json = await runOps(['instances', 'list', '--json'])
    expect(json.code, json.stderr).toBe(0)
    const listed = (JSON.parse(json.stdout) as Array<{ id: string; health: string }>).find((r) => r.id === OLDEST)
    expect(listed?.health).toBe(`broken (${MAX_FAILURES} failed logouts)`)
    const table = await runOps(['instances', 'list'])
    expect(table.code).toBe(0)
    expect(table.stdout).toContain('broken')
    expect(table.stderr).toContain('1 broken instance(s)')
  })

  it('a quarantined instance whose Green-API comes back is logged out in the background and back in the pool', async () => {
    const d = await newTenant()
    const instanceId = await linkByScan(h, d, '+33600000012')
    const stop = h.sim.fault({ instanceId, methods: ['logout'] }).down(503)
    expect((await post(h, '/api/wa/disconnect', d)).status).toBe(200)
    expect(await instanceRow(instanceId)).toMatchObject({ needs_logout: true, logout_failures: 1 })
    expect(h.sim.instance(instanceId)?.state).toBe('authorized')

    stop()
    // Nobody claims it: the background job alone logs it out.
    const row = await eventually(async () => {
      const r = await instanceRow(instanceId)
      expect(r.needs_logout).toBe(false)
      return r
    }, 15_000)
    expect(row).toMatchObject({ tenant_id: null, logout_failures: 0, broken_at: null })
    expect(h.sim.instance(instanceId)?.state).toBe('notAuthorized')
    const json = await runOps(['instances', 'list', '--json'])
    expect((JSON.parse(json.stdout) as Array<{ id: string; health: string }>).find((r) => r.id === instanceId)?.health).toBe('ok')
  })
})
