import { describe, expect, it } from 'vitest'
import type { ConnectionRecord } from '../ports/connection-repository'
import { derivePhase, transition, type LinkEvent, type LinkPhase } from './connection-machine'

const PHASES: LinkPhase[] = ['unlinked', 'linking', 'linkExpired', 'connected', 'degraded']

// The table from connection-machine.ts, written out again so a change to one is caught by the other.
const TABLE: Record<LinkPhase, Record<string, LinkPhase | 'ALREADY_CONNECTED'>> = {
  unlinked: {
    linkStarted: 'linking',
    authorized: 'connected',
    degraded: 'degraded',
    notAuthorized: 'unlinked',
    timeout: 'unlinked',
    disconnected: 'unlinked',
  },
  linking: {
    linkStarted: 'linking',
    authorized: 'connected',
    degraded: 'degraded',
    notAuthorized: 'linking',
    timeout: 'linkExpired',
    disconnected: 'unlinked',
  },
  linkExpired: {
    linkStarted: 'linking',
    authorized: 'connected',
    degraded: 'degraded',
    notAuthorized: 'linkExpired',
    timeout: 'linkExpired',
    disconnected: 'unlinked',
  },
  connected: {
    linkStarted: 'ALREADY_CONNECTED',
    authorized: 'connected',
    degraded: 'degraded',
    notAuthorized: 'unlinked',
    timeout: 'connected',
    disconnected: 'unlinked',
  },
  degraded: {
    linkStarted: 'linking',
    authorized: 'connected',
    degraded: 'degraded',
    notAuthorized: 'unlinked',
    timeout: 'degraded',
    disconnected: 'unlinked',
  },
}

const EVENTS: [string, LinkEvent[]][] = [
  ['linkStarted', [{ type: 'linkStarted' }]],
  ['authorized', [{ type: 'state', state: 'authorized' }]],
  ['degraded', (['starting', 'yellowCard', 'sleepMode', 'blocked'] as const).map((state) => ({ type: 'state', state }))],
  ['notAuthorized', [{ type: 'state', state: 'notAuthorized' }]],
  ['timeout', [{ type: 'timeout' }]],
  ['disconnected', [{ type: 'disconnected' }]],
]

describe('connection machine', () => {
  for (const from of PHASES) {
    for (const [column, events] of EVENTS) {
      it(`${from} --${column}--> ${TABLE[from][column]}`, () => {
        for (const event of events) {
          const r = transition(from, event)
          const expected = TABLE[from][column]
          if (expected === 'ALREADY_CONNECTED') expect(r).toEqual({ ok: false, error: 'ALREADY_CONNECTED' })
          else expect(r).toEqual({ ok: true, phase: expected })
        }
      })
    }
  }

  const base: ConnectionRecord = {
    tenantId: 't',
    instanceId: '1',
    encryptedConfig: 'x',
    status: 'notAuthorized',
    isActive: false,
    account: null,
    linkStartedAt: new Date('2026-01-01T00:00:00Z'),
    linkExpiresAt: new Date('2026-01-01T00:05:00Z'),
    statusChangedAt: new Date('2026-01-01T00:00:00Z'),
    statusCheckedAt: null,
    lastEventAt: null,
  }
  it('derives the phase of a row at a time', () => {
    expect(derivePhase(null, new Date())).toBe('unlinked')
    expect(derivePhase(base, new Date('2026-01-01T00:04:59Z'))).toBe('linking')
    expect(derivePhase(base, new Date('2026-01-01T00:05:00Z'))).toBe('linking')
    expect(derivePhase(base, new Date('2026-01-01T00:05:01Z'))).toBe('linkExpired')
    expect(derivePhase({ ...base, linkExpiresAt: null }, new Date())).toBe('unlinked')
    expect(derivePhase({ ...base, status: 'authorized' }, new Date('2027-01-01'))).toBe('connected')
    expect(derivePhase({ ...base, status: 'yellowCard' }, new Date())).toBe('degraded')
  })
})
