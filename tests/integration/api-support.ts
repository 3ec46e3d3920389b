import { expect } from 'vitest'
import type { Role } from '../../db/schema'
import { addMember, createTenant, createUser } from '../factories'
import { appToken, sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { decodeQr, eventually, type WaHarness } from '../utils/wa-harness'

// Shared helpers of the /api/wa HTTP tests (api-*.test.ts). Not a test file itself.

export interface TenantActor {
  tenantId: string
  userId: string
  /** Bearer token bound to `tenantId` (claim `tenant_id`). */
  token: string
}

/** A fresh tenant (WhatsApp enabled unless said otherwise) with one user of `role` and a token. */
export async function newTenant(opts: { whatsappEnabled?: boolean; role?: Role } = {}): Promise<TenantActor> {
  const tenant = await createTenant({ whatsappEnabled: opts.whatsappEnabled ?? true })
  const user = await createUser()
  await addMember(tenant, user, opts.role ?? 'owner')
  const token = await appToken(testDb(), { sub: user.id, tenant_id: tenant.id })
  return { tenantId: tenant.id, userId: user.id, token }
}

export function post(
  h: WaHarness,
  path: string,
  actor: { token: string; tenantId?: string },
  json: unknown = {},
  headers: Record<string, string> = {},
) {
  return h.api(path, { method: 'POST', token: actor.token, ...(actor.tenantId ? { tenant: actor.tenantId } : {}), json, headers })
}

export function get(
  h: WaHarness,
  path: string,
  actor: { token: string; tenantId?: string },
  headers: Record<string, string> = {},
) {
  return h.api(path, { token: actor.token, ...(actor.tenantId ? { tenant: actor.tenantId } : {}), headers })
}

export async function statusOf(h: WaHarness, actor: { token: string; tenantId?: string }): Promise<Record<string, unknown>> {
  const res = await get(h, '/api/wa/qr/status', actor)
  expect(res.status).toBe(200)
  return (await res.json()) as Record<string, unknown>
}

/** The instance id and QR nonce a generated QR points at (decoding the PNG like a phone would). */
export async function scanTarget(qrCode: string): Promise<{ instanceId: string; nonce: string; url: string }> {
  const url = await decodeQr(qrCode)
  const [instanceId, nonce] = new URL(url).pathname.split('/').slice(-2) as [string, string]
  return { instanceId, nonce, url }
}

/** generate → decode the QR → simulated scan → wait for the status to say authorized. */
export async function linkByScan(
  h: WaHarness,
  actor: TenantActor | { token: string; tenantId: string },
  phone = '+33612345678',
): Promise<string> {
  const res = await post(h, '/api/wa/qr/generate', actor)
  expect(res.status).toBe(200)
  const { qrCode } = (await res.json()) as { qrCode: string }
  const { instanceId, nonce } = await scanTarget(qrCode)
  expect(h.sim.scan(instanceId, nonce, phone)).toMatchObject({ ok: true })
  await eventually(async () =>
    expect(await statusOf(h, actor)).toMatchObject({ connected: true, status: 'authorized', phoneNumber: phone }),
  )
  return instanceId
}

export async function providerRow(tenantId: string) {
  return testDb().selectFrom('tenant_provider_configs').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst()
}

export async function instanceRow(instanceId: string) {
  return testDb().selectFrom('wa_instances').selectAll().where('id', '=', instanceId).executeTakeFirstOrThrow()
}

/** A stack-trace line as V8 prints it. */
export const STACK_LINE = /\n\s+at [^\n]+[(:]\d+/

/** Asserts the error envelope `{"ok":false,"error":CODE,"message":…}` and returns the body. */
export async function expectError(res: Response, status: number | number[], code: string): Promise<Record<string, unknown>> {
  const text = await res.text()
  const statuses = Array.isArray(status) ? status : [status]
  expect(statuses, `${res.status} ${text.slice(0, 300)}`).toContain(res.status)
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/)
  expect(text).not.toMatch(STACK_LINE)
  const body = JSON.parse(text) as Record<string, unknown>
  expect(body).toMatchObject({ ok: false, error: code })
  expect(typeof body.message).toBe('string')
  expect((body.message as string).length).toBeGreaterThan(0)
  return body
}

/** The settings page's "link by phone number" form, posted without JavaScript (the code it shows belongs to this attempt). */
export async function askPairingCodeOnPage(h: WaHarness, t: TenantActor): Promise<void> {
  const res = await fetch(`${h.app.url}/settings/whatsapp`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      cookie: await sessionCookie(testDb(), t.userId),
      origin: new URL(h.app.url).origin,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ intent: 'link-phone', phoneNumber: '+33612345678' }),
  })
  expect(res.status).toBe(302)
}
