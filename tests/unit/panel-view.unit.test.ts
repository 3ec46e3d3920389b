import { describe, expect, it } from 'vitest'
import type { StatusResponse } from '../../app/api/schemas'
import { confirmKept, panelViewOf } from '../../app/routes/settings.whatsapp/panel-view'

const connected = (extra: Partial<StatusResponse> = {}) =>
  panelViewOf({ connected: true, status: 'authorized', phoneNumber: '+33655443322', checkedAt: '2026-12-02T10:00:00Z', ...extra })

describe('confirmKept: an open confirmation and a pushed status', () => {
  it('stays open when the push keeps the state (the profile arrives after the link)', () => {
    expect(confirmKept(connected(), connected({ profileName: 'Camille' }), true)).toBe(true)
  })
  it('closes when the push changes the state (the phone logged out meanwhile)', () => {
    const unlinked = panelViewOf({ connected: false, status: 'notAuthorized', checkedAt: '2026-12-02T10:00:01Z' })
    expect(confirmKept(connected(), unlinked, true)).toBe(false)
  })
  it('never opens one', () => {
    expect(confirmKept(connected(), connected({ profileName: 'Camille' }), false)).toBe(false)
  })
})
