import { describe, expect, it } from 'vitest'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { expectError, get, newTenant, post, providerRow, scanTarget, statusOf } from './api-support'

// The right phone (issue 16, decision 200): a link attempt may name the number it expects; a
// scan by another phone is logged out upstream, nothing is linked, and the status says so.
const h = useWaApp({ instances: 6 })

async function generate(actor: Awaited<ReturnType<typeof newTenant>>, body?: Record<string, unknown>) {
  const gen = await post(h, '/api/wa/qr/generate', actor, body)
  expect(gen.status).toBe(200)
  return scanTarget(((await gen.json()) as { qrCode: string }).qrCode)
}

describe('expected phone over HTTP (simulator behind MSW)', () => {
  it('another phone scans → logged out upstream, nothing linked, status WRONG_NUMBER with the masked number', async () => {
    const t = await newTenant()
    // A national number, read as French (the tenant default country).
    const { instanceId, nonce } = await generate(t, { expectedPhone: '06 12 34 56 78' })
    expect((await providerRow(t.tenantId))?.expected_phone).toBe('+33612345678')
    h.sim.resetCallCounts()

    expect(h.sim.scan(instanceId, nonce, '+33699998877')).toMatchObject({ ok: true })
    const status = await eventually(async () => {
      const s = await statusOf(h, t)
      expect(s.wrongNumber).toBeDefined()
      return s
    })
    expect(status).toMatchObject({
      connected: false,
      status: 'notAuthorized',
      wrongNumber: { code: 'WRONG_NUMBER', expectedPhone: '+33612345678', actualPhoneMasked: '+33 6 •• •• 88 77' },
    })
    expect(status.phoneNumber).toBeUndefined()
    expect(JSON.stringify(status)).not.toContain('699998877')
    // The simulator saw the logout, and its instance is no longer linked.
    expect(h.sim.callCount({ instanceId, method: 'logout' })).toBe(1)
    expect(h.sim.instance(instanceId)!.state).toBe('notAuthorized')
    // Nothing linked is kept: no phone, not active; the full wrong number is nowhere in the row.
    const row = await providerRow(t.tenantId)
    expect(row).toMatchObject({ connection_status: 'notAuthorized', is_active: false, phone_number: null })
    expect(JSON.stringify(row)).not.toContain('699998877')
    const last = await testDb()
      .selectFrom('wa_last_linked_phones')
      .selectAll()
      .where('tenant_id', '=', t.tenantId)
      .executeTakeFirst()
    expect(last).toBeUndefined()
    // The outcome is audited (masked only).
    const audit = await testDb()
      .selectFrom('audit_log')
      .select(['action', 'outcome', 'details'])
      .where('tenant_id', '=', t.tenantId)
      .where('action', '=', 'whatsapp.link.wrong_number')
      .execute()
    expect(audit).toHaveLength(1)
    expect(JSON.stringify(audit)).not.toContain('699998877')
    // The history says the attempt ended in a refusal (one entry, newest first), no number in it.
    const timeline = (await (await get(h, '/api/wa/timeline', t)).json()) as { events: Array<Record<string, unknown>> }
    expect(timeline.events.map((e) => e.reason)).toEqual(['wrong_number', 'link_started'])
    expect(timeline.events[0]).toMatchObject({ source: 'wrong_number', to: 'notAuthorized' })
    expect(JSON.stringify(timeline)).not.toContain('699998877')

    // A new attempt clears the refusal; the right phone links.
    const again = await generate(t, { expectedPhone: '+33612345678' })
    expect((await statusOf(h, t)).wrongNumber).toBeUndefined()
    expect(h.sim.scan(again.instanceId, again.nonce, '+33612345678')).toMatchObject({ ok: true })
    await eventually(async () =>
      expect(await statusOf(h, t)).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33612345678' }),
    )
    const remembered = await testDb()
      .selectFrom('wa_last_linked_phones')
      .select('phone')
      .where('tenant_id', '=', t.tenantId)
      .executeTakeFirst()
    expect(remembered?.phone).toBe('+33612345678')
  })

  it('the expected phone scans → connected, no logout', async () => {
    const t = await newTenant()
    const { instanceId, nonce } = await generate(t, { expectedPhone: '+33611112222' })
    h.sim.resetCallCounts()
    expect(h.sim.scan(instanceId, nonce, '+33611112222')).toMatchObject({ ok: true })
    await eventually(async () =>
      expect(await statusOf(h, t)).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33611112222' }),
    )
    expect(h.sim.callCount({ instanceId, method: 'logout' })).toBe(0)
  })

  it('no expected phone → any phone links (as before)', async () => {
    const t = await newTenant()
    const { instanceId, nonce } = await generate(t)
    expect(h.sim.scan(instanceId, nonce, '+33633334444')).toMatchObject({ ok: true })
    await eventually(async () =>
      expect(await statusOf(h, t)).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33633334444' }),
    )
  })

  it('pairing code with another expected number → WRONG_NUMBER after the phone types the code', async () => {
    const t = await newTenant()
    const res = await post(h, '/api/wa/pairing-code', t, { phoneNumber: '+33655556666', expectedPhone: '+33677778888' })
    expect(res.status).toBe(200)
    const { code } = (await res.json()) as { code: string }
    expect(h.sim.pair(code)).toMatchObject({ ok: true })
    await eventually(async () =>
      expect(await statusOf(h, t)).toMatchObject({
        connected: false,
        wrongNumber: { code: 'WRONG_NUMBER', expectedPhone: '+33677778888', actualPhoneMasked: '+33 6 •• •• 66 66' },
      }),
    )
  })

  it('bad expectedPhone → 400 VALIDATION_FAILED naming the field, no attempt started', async () => {
    const t = await newTenant()
    const body = await expectError(await post(h, '/api/wa/qr/generate', t, { expectedPhone: '12' }), 400, 'VALIDATION_FAILED')
    expect(JSON.stringify(body.issues)).toContain('expectedPhone')
    await expectError(await post(h, '/api/wa/qr/generate', t, { expectedPhone: 42 }), 400, 'VALIDATION_FAILED')
    await expectError(
      await post(h, '/api/wa/pairing-code', t, { phoneNumber: '+33655556666', expectedPhone: 'abc' }),
      400,
      'VALIDATION_FAILED',
    )
    expect(await providerRow(t.tenantId)).toBeUndefined()
  })
})

describe('expected phone on the settings page (no JavaScript)', () => {
  it('the QR form takes the expected number, refuses a bad one on its field, and after a wrong scan says so and prefills it', async () => {
    const t = await newTenant()
    const cookie = await sessionCookie(testDb(), t.userId)
    const page = (lang = 'fr') =>
      fetch(`${h.app.url}/settings/whatsapp`, { headers: { cookie, 'accept-language': lang } }).then((r) => r.text())
    const submit = (fields: Record<string, string>) =>
      fetch(`${h.app.url}/settings/whatsapp`, {
        method: 'POST',
        headers: { cookie, origin: new URL(h.app.url).origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
        redirect: 'manual',
      })
    const before = await page()
    expect(before).toContain('name="expectedPhone"')
    expect(before).toContain('Numéro attendu (facultatif)')
    // Never linked: nothing to prefill, so no "clear the field" hint.
    expect(before).toContain('value=""')
    expect(before).not.toContain('videz le champ')

    // A bad number: refused on its field, no attempt started.
    const bad = await submit({ intent: 'link-qr', expectedPhone: '12' })
    expect(bad.status).toBe(400)
    expect(await bad.text()).toContain('"field":"expectedPhone"')
    expect(await providerRow(t.tenantId)).toBeUndefined()

    // A national number, read as French, starts the attempt expecting it.
    const ok = await submit({ intent: 'link-qr', expectedPhone: '06 12 34 56 78' })
    expect(ok.status).toBeLessThan(400)
    expect((await providerRow(t.tenantId))?.expected_phone).toBe('+33612345678')

    // Another phone scans: the page names the refusal with the masked number and keeps the expected one.
    const { instanceId, nonce } = await generate(t)
    expect(h.sim.scan(instanceId, nonce, '+33699998877')).toMatchObject({ ok: true })
    await eventually(async () => expect((await statusOf(h, t)).wrongNumber).toBeDefined())
    const fr = await page()
    expect(fr).toContain('data-code="WRONG_NUMBER"')
    expect(fr).toContain('+33 6 •• •• 88 77')
    expect(fr).toContain('value="+33612345678"')
    expect(fr).not.toContain('699998877')
    expect(await page('en')).toContain('Not the right number')
  })

  it('after a link and a disconnect the field holds the last linked number and says how to link another', async () => {
    const t = await newTenant()
    const cookie = await sessionCookie(testDb(), t.userId)
    const page = (lang = 'fr') =>
      fetch(`${h.app.url}/settings/whatsapp`, { headers: { cookie, 'accept-language': lang } }).then((r) => r.text())
    const { instanceId, nonce } = await generate(t)
    expect(h.sim.scan(instanceId, nonce, '+33655443322')).toMatchObject({ ok: true })
    await eventually(async () => expect((await statusOf(h, t)).connected).toBe(true))
    expect((await post(h, '/api/wa/disconnect', t)).status).toBe(200)

    const fr = await page()
    expect(fr).toContain('value="+33655443322"')
    expect(fr).toContain('videz le champ pour lier un autre numéro.')
    expect(await page('en')).toContain('clear the field to link another one.')
  })
})
