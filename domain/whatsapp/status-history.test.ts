import { describe, expect, it } from 'vitest'
import { InMemoryConnectionRepository } from '../testing/in-memory-connection-repository'
import { InMemoryFeatureStore } from '../testing/in-memory-feature-store'
import { ManualClock } from '../testing/small-port-fakes'
import { adviceFor, decodeHistoryCursor, encodeHistoryCursor, getStatusHistory, reasonOf } from './status-history'
import { DEFAULT_WHATSAPP_CONFIG } from './whatsapp-deps'
import { InvalidInputError, WhatsAppDisabledError } from './whatsapp.errors'

describe('status history', () => {
  it('names each transition in plain words (reason codes)', () => {
    expect(reasonOf({ from: null, to: 'notAuthorized', source: 'link' })).toBe('link_started')
    expect(reasonOf({ from: 'notAuthorized', to: 'authorized', source: 'webhook' })).toBe('linked')
    expect(reasonOf({ from: 'notAuthorized', to: 'authorized', source: 'link' })).toBe('linked')
    expect(reasonOf({ from: 'yellowCard', to: 'authorized', source: 'poll' })).toBe('back_online')
    expect(reasonOf({ from: 'authorized', to: 'notAuthorized', source: 'webhook' })).toBe('logged_out')
    expect(reasonOf({ from: 'authorized', to: 'notAuthorized', source: 'disconnect' })).toBe('disconnected')
    expect(reasonOf({ from: 'notAuthorized', to: 'notAuthorized', source: 'expire' })).toBe('link_expired')
    expect(reasonOf({ from: 'authorized', to: 'starting', source: 'poll' })).toBe('restarting')
    expect(reasonOf({ from: 'authorized', to: 'yellowCard', source: 'webhook' })).toBe('restricted')
    expect(reasonOf({ from: 'authorized', to: 'blocked', source: 'reconcile' })).toBe('banned')
    expect(reasonOf({ from: 'authorized', to: 'sleepMode', source: 'poll' })).toBe('phone_offline')
  })

  it('advises what to do in each degraded state only', () => {
    expect(adviceFor('starting')).toBe('wait_for_start')
    expect(adviceFor('sleepMode')).toBe('check_phone')
    expect(adviceFor('yellowCard')).toBe('pause_sending')
    expect(adviceFor('blocked')).toBe('appeal_ban')
    expect(adviceFor('authorized')).toBeUndefined()
    expect(adviceFor('notAuthorized')).toBeUndefined()
  })

  it('cursors round-trip and refuse anything else', () => {
    expect(decodeHistoryCursor(encodeHistoryCursor('42'))).toBe('42')
    expect(decodeHistoryCursor('42')).toBeNull()
    expect(decodeHistoryCursor(btoa('ev.0'))).toBeNull()
    expect(decodeHistoryCursor(btoa('ev.1 or 1=1'))).toBeNull()
    expect(decodeHistoryCursor('%%%')).toBeNull()
  })

  it('is gated like the status and validates limit and cursor', async () => {
    const clock = new ManualClock()
    const features = new InMemoryFeatureStore(clock)
    const connections = new InMemoryConnectionRepository()
    const deps = { features, connections, config: DEFAULT_WHATSAPP_CONFIG }
    features.setFlags('off', { whatsapp_enabled: false })
    features.setFlags('on', { whatsapp_enabled: true })
    await expect(getStatusHistory(deps, { tenantId: 'off' })).rejects.toBeInstanceOf(WhatsAppDisabledError)
    expect(await getStatusHistory(deps, { tenantId: 'on' })).toEqual({ entries: [], nextCursor: null })
    await expect(getStatusHistory(deps, { tenantId: 'on', limit: 0 })).rejects.toBeInstanceOf(InvalidInputError)
    await expect(getStatusHistory(deps, { tenantId: 'on', cursor: 'nope' })).rejects.toBeInstanceOf(InvalidInputError)
  })
})
