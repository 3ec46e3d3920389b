import { describe, expect, it } from 'vitest'
import { advanceStatus } from './advance-status'
import { decodeCursor, encodeCursor } from './cursor'
import { MESSAGE_STATUSES, sendingState, type MessageStatus } from './message'

const moves = (from: MessageStatus) => MESSAGE_STATUSES.filter((to) => advanceStatus(from, to).changed)

describe('advanceStatus', () => {
  it('moves forward along queued < sending < sent < delivered < read, never back', () => {
    expect(moves('queued')).toEqual(['sending', 'sent', 'delivered', 'read', 'failed'])
    expect(moves('sending')).toEqual(['sent', 'delivered', 'read', 'failed', 'unknown'])
    expect(moves('sent')).toEqual(['delivered', 'read', 'failed'])
    expect(moves('delivered')).toEqual(['read'])
    expect(moves('read')).toEqual([])
    expect(advanceStatus('delivered', 'sent')).toEqual({ status: 'delivered', changed: false })
    expect(advanceStatus('read', 'delivered')).toEqual({ status: 'read', changed: false })
  })

  it('unknown yields to any later evidence; failed and received are final', () => {
    expect(moves('unknown')).toEqual(['sent', 'delivered', 'read', 'failed'])
    expect(moves('failed')).toEqual([])
    expect(moves('received')).toEqual([])
    expect(advanceStatus('queued', 'unknown').changed).toBe(false)
    expect(advanceStatus('sent', 'sent')).toEqual({ status: 'sent', changed: false })
  })
})

describe('sendingState', () => {
  it('authorized sends, yellowCard/blocked pause, everything else waits', () => {
    expect(sendingState('authorized')).toBe('sending')
    expect(sendingState('yellowCard')).toBe('paused')
    expect(sendingState('blocked')).toBe('paused')
    expect(sendingState('sleepMode')).toBe('waiting')
    expect(sendingState('starting')).toBe('waiting')
    expect(sendingState('notAuthorized')).toBe('waiting')
    expect(sendingState(null)).toBe('waiting')
  })
})

describe('message cursors', () => {
  it('round-trip, and anything else is refused', () => {
    const c = { createdAt: new Date('2026-12-03T10:00:00.123Z'), id: '0b8f3c1e-1d2a-4c3b-9e8f-7a6b5c4d3e2f' }
    expect(decodeCursor(encodeCursor(c))).toEqual(c)
    expect(decodeCursor('not a cursor')).toBeNull()
    expect(decodeCursor(btoa('123.not-a-uuid'))).toBeNull()
    expect(decodeCursor('')).toBeNull()
  })
})
