import { describe, expect, it } from 'vitest'
import type { ConnectionRecord } from '../ports/connection-repository'
import { planStatusUpdate } from './status-update'

const t0 = new Date('2026-01-01T00:00:00Z')
const t1 = new Date('2026-01-01T00:00:10Z')
const row: ConnectionRecord = {
  tenantId: 't',
  instanceId: '1',
  encryptedConfig: 'x',
  status: 'notAuthorized',
  isActive: false,
  account: null,
  linkStartedAt: t0,
  linkExpiresAt: new Date('2026-01-01T00:05:00Z'),
  statusChangedAt: t0,
  statusCheckedAt: null,
  lastEventAt: t1,
}

describe('planStatusUpdate', () => {
  it('is stale only for events strictly older than the last one', () => {
    expect(planStatusUpdate(row, { status: 'authorized', checkedAt: t1, source: 'webhook', eventAt: t0 })).toEqual({
      kind: 'stale',
    })
    expect(planStatusUpdate(row, { status: 'authorized', checkedAt: t1, source: 'webhook', eventAt: t1 }).kind).toBe('changed')
  })
  it('only touches bookkeeping when nothing changed', () => {
    expect(planStatusUpdate(row, { status: 'notAuthorized', checkedAt: t1, source: 'poll' })).toEqual({
      kind: 'unchanged',
      patch: { statusCheckedAt: t1, lastEventAt: t1 },
    })
  })
  it('becoming authorized sets is_active, the phone, ends the attempt and adds a timeline entry', () => {
    const plan = planStatusUpdate(row, {
      status: 'authorized',
      account: { phone: '+33612345678' },
      checkedAt: t1,
      source: 'poll',
    })
    expect(plan).toEqual({
      kind: 'changed',
      patch: {
        status: 'authorized',
        isActive: true,
        account: { phone: '+33612345678' },
        statusChangedAt: t1,
        statusCheckedAt: t1,
        lastEventAt: t1,
        linkExpiresAt: null,
      },
      timeline: { from: 'notAuthorized', to: 'authorized' },
    })
  })
  it('a phone-only change updates the row without a timeline entry', () => {
    const connected = { ...row, status: 'authorized' as const, isActive: true, account: { phone: '+33600000001' } }
    const plan = planStatusUpdate(connected, {
      status: 'authorized',
      account: { phone: '+33600000002' },
      checkedAt: t1,
      source: 'poll',
    })
    expect(plan.kind).toBe('changed')
    if (plan.kind === 'changed') {
      expect(plan.timeline).toBeNull()
      expect(plan.patch.statusChangedAt).toBe(t0)
    }
  })
  it('never moves lastEventAt backwards', () => {
    const later = new Date('2026-01-01T00:01:00Z')
    const plan = planStatusUpdate(
      { ...row, lastEventAt: later },
      { status: 'notAuthorized', checkedAt: t1, source: 'webhook', eventAt: later },
    )
    expect(plan).toEqual({ kind: 'unchanged', patch: { statusCheckedAt: t1, lastEventAt: later } })
  })
})
