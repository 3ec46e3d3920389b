import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { addJob } from '../../adapters/queue/graphile-job-queue'
import { addMember, createUser } from '../factories'
import { appToken, sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { expectError, get, linkByScan, newTenant, post, statusOf, type TenantActor } from './api-support'

// The status history (GET /api/wa/timeline and the page's "Historique"), the advice of each
// degraded state with the blocking banners of yellowCard/blocked, and the first-link checklist
// (issue 16; decisions 205–207). Over real HTTP, the simulator behind MSW.
const h = useWaApp({ instances: 6 })

interface TimelineBody {
  ok: true
  events: Array<{ id: string; at: string; from?: string; to: string; source: string; reason: string }>
  nextCursor: string | null
}

async function timeline(actor: { token: string; tenantId?: string }, query = ''): Promise<TimelineBody> {
  const res = await get(h, `/api/wa/timeline${query}`, actor)
  const text = await res.text()
  expect(res.status, text.slice(0, 300)).toBe(200)
  return JSON.parse(text) as TimelineBody
}

async function page(userId: string, headers: Record<string, string> = {}): Promise<string> {
  const cookie = await sessionCookie(testDb(), userId)
  const res = await fetch(`${h.app.url}/settings/whatsapp`, { headers: { cookie, ...headers } })
  expect(res.status).toBe(200)
  return res.text()
}

/** The history rows of the page, top to bottom: `reason/source`. */
function historyRows(html: string): string[] {
  const section = /<section class="wa-card wa-history"[\s\S]*?<\/section>/.exec(html)?.[0] ?? ''
  return [...section.matchAll(/data-history-reason="([a-z_]+)" data-history-source="([a-z]+)"/g)].map((m) => `${m[1]}/${m[2]}`)
}

const PHONE = '+33655501234'

describe('GET /api/wa/timeline', () => {
  let a: TenantActor
  let instanceId: string
  beforeAll(async () => {
    a = await newTenant()
  })

  it('a link, a scan and a disconnect appear newest first, with source and reason, and no phone or instance id', async () => {
    expect((await timeline(a)).events).toEqual([])
    instanceId = await linkByScan(h, a, PHONE)
    const disconnected = await post(h, '/api/wa/disconnect', a)
    expect(disconnected.status).toBe(200)

    const res = await get(h, '/api/wa/timeline', a)
    const raw = await res.text()
    const body = JSON.parse(raw) as TimelineBody
    expect(body.nextCursor).toBeNull()
    expect(body.events.map((e) => [e.from ?? null, e.to, e.reason])).toEqual([
      ['authorized', 'notAuthorized', 'disconnected'],
      ['notAuthorized', 'authorized', 'linked'],
      [null, 'notAuthorized', 'link_started'],
    ])
    expect(body.events.map((e) => e.source)).toEqual(['disconnect', expect.stringMatching(/^(webhook|poll)$/), 'link'])
    const times = body.events.map((e) => Date.parse(e.at))
    expect([...times].sort((x, y) => y - x)).toEqual(times)
    // No personal data: neither the number (in any spelling) nor the instance.
    expect(raw).not.toContain('55501234')
    expect(raw).not.toContain(instanceId)
  })

  it('pages with an opaque cursor until nextCursor is null; a bad cursor or limit is a 400', async () => {
    // Two more entries: a new attempt, then its scan.
    await linkByScan(h, a, PHONE)
    const all = (await timeline(a)).events
    expect(all.length).toBe(5)

    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const q: string = `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
      const p = await timeline(a, q)
      expect(p.events.length).toBeLessThanOrEqual(2)
      seen.push(...p.events.map((e) => e.id))
      cursor = p.nextCursor
      pages++
    } while (cursor !== null && pages < 10)
    expect(pages).toBe(3)
    expect(seen).toEqual(all.map((e) => e.id))

    await expectError(await get(h, '/api/wa/timeline?cursor=not-a-cursor', a), 400, 'VALIDATION_FAILED')
    await expectError(await get(h, '/api/wa/timeline?limit=0', a), 400, 'VALIDATION_FAILED')
    await expectError(await get(h, '/api/wa/timeline?limit=101', a), 400, 'VALIDATION_FAILED')
    await expectError(await get(h, '/api/wa/timeline?since=yesterday', a), 400, 'VALIDATION_FAILED')
  })

  it('another tenant sees nothing of it, not even through its cursor; members read it; WhatsApp Pro off is a 403', async () => {
    const b = await newTenant()
    expect((await timeline(b)).events).toEqual([])
    const aPage = await timeline(a, '?limit=1')
    expect(aPage.nextCursor).not.toBeNull()
    const through = await timeline(b, `?cursor=${encodeURIComponent(aPage.nextCursor!)}`)
    expect(through).toEqual({ ok: true, events: [], nextCursor: null })
    // A's tenant named with B's token: refused, nothing read.
    const crossed = await get(h, '/api/wa/timeline', { token: b.token, tenantId: a.tenantId })
    expect(crossed.status).toBe(403)
    expect(await crossed.text()).not.toContain('link_started')

    const member = await createUser()
    await addMember({ id: a.tenantId }, member, 'member')
    const memberToken = await appToken(testDb(), { sub: member.id, tenant_id: a.tenantId })
    expect((await timeline({ token: memberToken, tenantId: a.tenantId })).events.length).toBe(5)

    const off = await newTenant({ whatsappEnabled: false })
    await expectError(await get(h, '/api/wa/timeline', off), 403, 'WHATSAPP_DISABLED')
  })
})

describe('the settings page: history, first-link checklist, degraded states', () => {
  let t: TenantActor
  let instanceId: string
  beforeAll(async () => {
    t = await newTenant()
  })

  it('coaches the first link, then never again; shows the history in French and English', async () => {
    const before = await page(t.userId)
    expect(before).toContain('data-coaching="first-link"')
    expect(before).toContain('Avant de connecter votre numéro')
    expect(before).toContain('WhatsApp Business')
    expect(before).toContain('Historique')
    expect(before).toContain('Aucun changement d’état enregistré pour l’instant.')

    instanceId = await linkByScan(h, t, PHONE)
    const linked = await page(t.userId)
    expect(linked).not.toContain('data-coaching')
    expect(historyRows(linked)).toEqual([expect.stringMatching(/^linked\/(webhook|poll)$/), 'link_started/link'])
    expect(linked).toContain('Numéro connecté')
    expect(linked).toContain('Connexion depuis le CRM')

    // Unlinked again: the number was linked once, so no checklist.
    expect((await post(h, '/api/wa/disconnect', t)).status).toBe(200)
    const after = await page(t.userId)
    expect(after).toContain('WhatsApp n’est pas connecté.')
    expect(after).not.toContain('data-coaching')
    expect(historyRows(after)[0]).toBe('disconnected/disconnect')

    const en = await page(t.userId, { 'accept-language': 'en-GB,en;q=0.9' })
    expect(en).toContain('History')
    expect(en).toContain('Number disconnected from the CRM')
    expect(en).not.toContain('Historique')
  })

  it('members do not get the checklist (they cannot link)', async () => {
    const fresh = await newTenant()
    const member = await createUser()
    await addMember({ id: fresh.tenantId }, member, 'member')
    const html = await page(member.id)
    expect(html).toContain('Historique')
    expect(html).not.toContain('data-coaching')
    expect(await page(fresh.userId)).toContain('data-coaching="first-link"')
  })

  it('yellowCard and blocked are blocking banners saying what happened and what to do; each degraded state has its advice', async () => {
    instanceId = await linkByScan(h, t, PHONE)
    const cases = [
      { state: 'yellowCard', advice: 'pause_sending', banner: true, text: 'carton jaune', reason: 'restricted' },
      { state: 'blocked', advice: 'appeal_ban', banner: true, text: 'WhatsApp a banni ce numéro', reason: 'banned' },
      { state: 'sleepMode', advice: 'check_phone', banner: false, text: 'Vérifiez qu’il est allumé', reason: 'phone_offline' },
      { state: 'starting', advice: 'wait_for_start', banner: false, text: 'jusqu’à 5 minutes', reason: 'restarting' },
    ] as const
    for (const c of cases) {
      if (c.state === 'starting') h.sim.starting(instanceId)
      else h.sim.setState(instanceId, c.state)
      await eventually(async () => expect(await statusOf(h, t)).toMatchObject({ status: c.state, advice: c.advice }))
      const html = await page(t.userId)
      expect(html).toContain(`data-advice="${c.advice}"`)
      expect(html).toContain(c.text)
      if (c.banner) expect(html).toMatch(new RegExp(`role="alert" data-banner="${c.state}"`))
      else expect(html).not.toContain('data-banner=')
      expect(historyRows(html)[0]).toMatch(new RegExp(`^${c.reason}/`))
    }
    h.sim.authorize(instanceId, PHONE)
    await eventually(async () => expect(await statusOf(h, t)).toMatchObject({ status: 'authorized' }))
    const back = await statusOf(h, t)
    expect(back.advice).toBeUndefined()
    const html = await page(t.userId)
    expect(html).not.toContain('data-banner=')
    expect(historyRows(html)[0]).toMatch(/^back_online\//)
  })
})

describe('retention (WA_STATUS_EVENTS_RETENTION_DAYS, 90 by default; decision 259)', () => {
  /** Moves the tenant's entries back in time: `daysFor(i)` for the i-th oldest, undefined = leave it. */
  async function age(tenantId: string, daysFor: (i: number) => number | undefined): Promise<void> {
    const rows = await testDb()
      .selectFrom('wa_status_events')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .orderBy('id')
      .execute()
    for (const [i, row] of rows.entries()) {
      const days = daysFor(i)
      if (days === undefined) continue
      await testDb()
        .updateTable('wa_status_events')
        .set({ occurred_at: sql`now() - make_interval(days => ${days})` })
        .where('id', '=', row.id)
        .execute()
    }
  }
  const reasons = async (actor: TenantActor, query = '') => (await timeline(actor, query)).events.map((e) => e.reason)

  it('the nightly purge deletes entries older than 90 days, keeps the rest and the last "linked"; the API still pages', async () => {
    // a: linked and disconnected (its entries made 200, 91… and 89 days old), then linked again today.
    const a = await newTenant()
    await linkByScan(h, a, '+33655509001')
    expect((await post(h, '/api/wa/disconnect', a)).status).toBe(200)
    // A disconnect may also record the phone's own logout first (its webhook can win the race).
    const before = (await timeline(a)).events.length
    await age(a.tenantId, (i) => (i === 0 ? 200 : i < before - 1 ? 91 : i === before - 1 ? 89 : undefined))
    await linkByScan(h, a, '+33655509001')
    const lastOld = (await reasons(a))[2]!
    // b: linked once and disconnected, all of it long ago: only its "linked" entry may stay.
    const b = await newTenant()
    await linkByScan(h, b, '+33655509002')
    expect((await post(h, '/api/wa/disconnect', b)).status).toBe(200)
    await age(b.tenantId, (i) => 120 - i)
    expect(await reasons(b)).toContain('linked')

    await addJob(testDb(), 'wa.purge-messages', {})
    await eventually(async () => expect(await reasons(b)).toEqual(['linked']))
    expect(await reasons(a)).toEqual(['linked', 'link_started', lastOld])
    expect(lastOld).toMatch(/^(disconnected|logged_out)$/)
    // Paging over what is left.
    const first = await timeline(a, '?limit=2')
    expect(first.events.map((e) => e.reason)).toEqual(['linked', 'link_started'])
    const rest = await timeline(a, `?limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`)
    expect(rest).toMatchObject({ events: [{ reason: lastOld }], nextCursor: null })
    // b linked its number once: the page does not coach a first link again.
    const html = await page(b.userId)
    expect(historyRows(html)).toEqual([expect.stringMatching(/^linked\/(webhook|poll)$/)])
    expect(html).not.toContain('data-coaching')
  })
})
