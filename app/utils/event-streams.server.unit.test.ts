import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EventStreamFanout, type StreamSink } from './event-streams.server'

type Status = { s: string }
type Signal = { tenantId: string; id: string }

/** The hub's two subscriptions by tenant, counting its listeners. */
function fakeHub() {
  const status = new Map<string, Set<(t: string, s: Status) => void>>()
  const messages = new Map<string, Set<(m: Signal) => void>>()
  const sub = <L>(map: Map<string, Set<L>>, tenantId: string, l: L) => {
    const set = map.get(tenantId) ?? new Set<L>()
    map.set(tenantId, set)
    set.add(l)
    return () => void set.delete(l)
  }
  return {
    subscribe: (tenantId: string, l: (t: string, s: Status) => void) => sub(status, tenantId, l),
    subscribeMessages: (tenantId: string, l: (m: Signal) => void) => sub(messages, tenantId, l),
    emit: (tenantId: string, s: Status) => status.get(tenantId)?.forEach((l) => l(tenantId, s)),
    emitMessage: (m: Signal) => messages.get(m.tenantId)?.forEach((l) => l(m)),
    listeners: () => [...status.values(), ...messages.values()].reduce((n, set) => n + set.size, 0),
  }
}

class FakeSink implements StreamSink {
  chunks: Uint8Array[] = []
  ended = false
  writableLength = 0
  write(chunk: Uint8Array) {
    this.chunks.push(chunk)
    return true
  }
  end() {
    this.ended = true
  }
  text() {
    return this.chunks.map((c) => new TextDecoder().decode(c)).join('')
  }
}

function setup(overrides: { maxBufferedBytes?: number } = {}) {
  const hub = fakeHub()
  const counts = { open: 0, closed: 0, released: 0 }
  const fanout = new EventStreamFanout<Status, Signal>(hub, {
    statusEvent: (s) => `event: status\ndata: ${JSON.stringify(s)}\n\n`,
    messageEvent: (m) => `event: message-status\ndata: ${JSON.stringify({ id: m.id })}\n\n`,
    heartbeatMs: 15_000,
    lifetimeMs: 60_000,
    maxBufferedBytes: overrides.maxBufferedBytes ?? 1024,
    onOpen: () => counts.open++,
    onClose: () => counts.closed++,
  })
  const open = (tenantId: string, sink = new FakeSink()) => ({
    sink,
    stream: fanout.open(tenantId, sink, 'first\n\n', () => counts.released++),
  })
  return { hub, fanout, counts, open }
}

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

describe('EventStreamFanout', () => {
  it('one hub subscription per tenant; an event is encoded once and the same bytes go to each of its streams only', () => {
    const { hub, fanout, open } = setup()
    const a = [open('a'), open('a'), open('a')]
    const b = open('b')
    expect(hub.listeners()).toBe(4) // status + messages, for a and for b
    expect(fanout.size).toBe(4)
    hub.emit('a', { s: 'authorized' })
    hub.emitMessage({ tenantId: 'a', id: 'm1' })
    const [first, ...rest] = a.map((x) => x.sink.chunks[1])
    for (const chunk of rest) expect(chunk).toBe(first)
    expect(a[0]!.sink.text()).toBe(
      'first\n\nevent: status\ndata: {"s":"authorized"}\n\nevent: message-status\ndata: {"id":"m1"}\n\n',
    )
    expect(b.sink.text()).toBe('first\n\n')
  })

  it('a closed stream leaves nothing behind: no hub listener, its slot released, the gauge back', () => {
    const { hub, fanout, counts, open } = setup()
    const one = open('a')
    const two = open('a')
    one.stream.close()
    one.stream.close() // twice is once
    expect(counts).toEqual({ open: 2, closed: 1, released: 1 })
    expect(hub.listeners()).toBe(2)
    two.stream.close()
    expect(hub.listeners()).toBe(0)
    expect(fanout.tenants).toBe(0)
    expect(fanout.size).toBe(0)
    expect(counts).toEqual({ open: 2, closed: 2, released: 2 })
    expect(one.sink.ended && two.sink.ended).toBe(true)
    expect(vi.getTimerCount()).toBe(0) // no heartbeat or lifetime timer without streams
  })

  it('one heartbeat timer for all streams, one lifetime: streams end in their open order', () => {
    const { fanout, counts, open } = setup()
    const early = open('a')
    vi.advanceTimersByTime(20_000)
    const late = open('b')
    expect(vi.getTimerCount()).toBe(2)
    vi.advanceTimersByTime(10_000) // 30 s: two heartbeats for the first, one for the second
    expect(early.sink.text().match(/: heartbeat/g)?.length).toBe(2)
    expect(late.sink.text().match(/: heartbeat/g)?.length).toBe(1)
    vi.advanceTimersByTime(30_000) // 60 s: the first one's lifetime
    expect(early.sink.ended).toBe(true)
    expect(late.sink.ended).toBe(false)
    vi.advanceTimersByTime(20_000)
    expect(late.sink.ended).toBe(true)
    expect(fanout.size).toBe(0)
    expect(counts.released).toBe(2)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a reader that does not read is ended past the buffer bound; a throwing sink is ended too', () => {
    const { hub, fanout, open } = setup({ maxBufferedBytes: 100 })
    const slow = open('a')
    const fine = open('a')
    const broken = open('a')
    broken.sink.write = () => {
      throw new Error('EPIPE')
    }
    slow.sink.writableLength = 101
    hub.emit('a', { s: 'authorized' })
    expect(slow.sink.ended).toBe(true)
    expect(broken.sink.ended).toBe(true)
    expect(fine.sink.ended).toBe(false)
    expect(fanout.size).toBe(1)
  })

  it('closeAll ends every stream (shutdown)', () => {
    const { fanout, hub, open } = setup()
    const streams = [open('a'), open('b'), open('b')]
    fanout.closeAll()
    expect(streams.every((s) => s.sink.ended)).toBe(true)
    expect(hub.listeners()).toBe(0)
  })
})
