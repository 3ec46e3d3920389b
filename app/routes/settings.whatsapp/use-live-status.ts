import { useRevalidator } from '@remix-run/react'
import { useEffect, useRef, useState } from 'react'
import type { StatusResponse } from '../../api/schemas'
import { panelViewOf } from './panel-view'
import type { PanelView } from './types'

const POLL_MS = 3_000
const EVENTS_URL = '/api/wa/events'
const STATUS_URL = '/api/wa/qr/status'

/** A message's new status pushed on the stream (`event: message-status`). */
interface MessageSignal {
  id: string
  status: string
}
const messageListeners = new Set<(m: MessageSignal) => void>()

/**
 * Live statuses of the page's messages (id → status), pushed on the one event stream that
 * `useLiveStatus` holds. Empty without JavaScript: a reload shows the same from the loader.
 */
export function useMessageStatuses(): Record<string, string> {
  const [statuses, setStatuses] = useState<Record<string, string>>({})
  useEffect(() => {
    const listener = (m: MessageSignal) => setStatuses((prev) => ({ ...prev, [m.id]: m.status }))
    messageListeners.add(listener)
    return () => {
      messageListeners.delete(listener)
    }
  }, [])
  return statuses
}

/** The part of the state a status push can change: connected, degraded(x), or not authorized. */
function keyOfView(view: PanelView): string {
  // The account's facts too: a profile fetched after the link (decision 242) is shown at once.
  if (view.state === 'connected') {
    const s = view.status
    return `connected:${s.phoneNumber ?? ''}|${s.profileName ?? ''}|${s.pictureUrl ?? ''}`
  }
  if (view.state === 'degraded') return `degraded:${view.status}`
  return 'notAuthorized'
}

/**
 * Keeps the page true to the server: listens to `GET /api/wa/events` (SSE, same-origin cookie)
 * and re-runs the loader when the pushed state differs from the shown one. When the stream
 * fails (proxy, old browser), polls `GET /api/wa/qr/status` every 3 s until it works again.
 */
export function useLiveStatus(view: PanelView): PanelView | null {
  const { revalidate } = useRevalidator()
  // A pushed state the loader has not confirmed yet, shown at once (the loader follows).
  const [pushed, setPushed] = useState<PanelView | null>(null)
  const viewKey = keyOfView(view)
  useEffect(() => setPushed(null), [viewKey, view])
  const shown = useRef({ key: keyOfView(view), waiting: view.state === 'waiting' })
  shown.current = { key: keyOfView(view), waiting: view.state === 'waiting' }
  const reval = useRef(revalidate)
  reval.current = revalidate
  const enabled = view.state !== 'disabled'

  useEffect(() => {
    if (!enabled) return
    let timer: ReturnType<typeof setInterval> | undefined
    const check = (p: StatusResponse) => {
      const next = panelViewOf(p)
      const outdated = keyOfView(next) !== shown.current.key || (p.linkExpired === true && shown.current.waiting)
      if (!outdated) return
      // Shown at once when complete without the loader; a link attempt needs its QR (loader).
      if (next.state === 'connected' || next.state === 'degraded') setPushed(next)
      reval.current()
    }
    const poll = async () => {
      try {
        const res = await fetch(STATUS_URL, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
        if (res.ok) check((await res.json()) as StatusResponse)
      } catch {
        /* offline: next tick */
      }
    }
    const startPolling = () => {
      timer ??= setInterval(() => void poll(), POLL_MS)
    }
    const stopPolling = () => {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    }
    if (typeof EventSource === 'undefined') {
      startPolling()
      return stopPolling
    }
    const source = new EventSource(EVENTS_URL)
    source.addEventListener('status', (e) => {
      stopPolling()
      try {
        check(JSON.parse((e as MessageEvent<string>).data) as StatusResponse)
      } catch {
        /* ignore a malformed event */
      }
    })
    source.addEventListener('message-status', (e) => {
      try {
        const m = JSON.parse((e as MessageEvent<string>).data) as MessageSignal
        if (typeof m.id === 'string' && typeof m.status === 'string') for (const l of messageListeners) l(m)
      } catch {
        /* ignore a malformed event */
      }
    })
    // The browser retries the stream by itself; meanwhile the fallback polls.
    source.addEventListener('error', startPolling)
    return () => {
      source.close()
      stopPolling()
    }
  }, [enabled])
  return pushed
}

/**
 * The current time (ms), ticking every second while `active`, starting from the server's `now`
 * so the first client render matches the server's HTML. Re-runs the loader once when one of
 * `deadlines` (ISO) passes — a QR to renew, an attempt to mark expired.
 */
export function useClock(serverNow: string, active: boolean, deadlines: Array<string | null | undefined>): number {
  const serverMs = Date.parse(serverNow)
  const [now, setNow] = useState(serverMs)
  const { revalidate } = useRevalidator()
  const reval = useRef(revalidate)
  reval.current = revalidate
  const key = deadlines.join('|')

  useEffect(() => {
    const offset = serverMs - Date.now()
    setNow(Date.now() + offset)
    if (!active) return
    const tick = setInterval(() => setNow(Date.now() + offset), 1000)
    const timeouts = deadlines
      .map((d) => (d ? Date.parse(d) - (Date.now() + offset) : -1))
      .filter((ms) => ms > 0)
      .map((ms) => setTimeout(() => reval.current(), ms + 250))
    return () => {
      clearInterval(tick)
      timeouts.forEach(clearTimeout)
    }
    // `key` stands for `deadlines` (a new array each render).
  }, [serverMs, active, key])
  return now
}
