/**
 * What the settings page shows while a link attempt runs: the latest QR image or pairing code of
 * each tenant, kept in this process's memory only (never in the database, never in a cookie) for
 * as long as it can be used.
 *
 * Why: without JavaScript the waiting page reloads itself every 3 s (meta refresh) and must show
 * the same QR again without calling `generateQr` each time (rate limit 10/min, and each call
 * restarts the link attempt). When the image expires (~20 s), the loader renews it — at most
 * `MAX_AUTO_RENEWALS` times after the admin's last click, like WhatsApp Web, then asks for a click
 * ("Générer un nouveau QR code"). That bound keeps a forgotten tab from generating QR codes forever
 * and lets the link attempt reach its hard limit.
 *
 * With several app processes, a process that has no entry renews once (counted as a renewal).
 */
const MAX_AUTO_RENEWALS = 5
const MAX_ENTRIES = 10_000

export interface QrShown {
  src: string
  expiresAt: number
}
export interface PairingShown {
  code: string
  expiresAt: number
}
interface Entry {
  qr?: QrShown
  pairing?: PairingShown
  renewals: number
  touchedAt: number
}

const KEY = Symbol.for('whatsapp-pro.link-display')
type Holder = { [KEY]?: { entries: Map<string, Entry>; inflight: Map<string, Promise<QrShown | null>> } }

function store() {
  const holder = globalThis as Holder
  holder[KEY] ??= { entries: new Map(), inflight: new Map() }
  return holder[KEY]
}

function put(tenantId: string, entry: Entry): void {
  const { entries } = store()
  entries.delete(tenantId)
  entries.set(tenantId, entry)
  // Oldest first in insertion order: drop the oldest when full.
  while (entries.size > MAX_ENTRIES) {
    const oldest = entries.keys().next().value
    if (oldest === undefined) break
    entries.delete(oldest)
  }
}

/** The admin asked for a QR (click): show it, and allow automatic renewals again. */
export function rememberQr(tenantId: string, qr: QrShown): void {
  put(tenantId, { qr, renewals: 0, touchedAt: Date.now() })
}

/** The admin asked for a pairing code: show it until it expires (never renewed automatically). */
export function rememberPairing(tenantId: string, pairing: PairingShown): void {
  put(tenantId, { pairing, renewals: 0, touchedAt: Date.now() })
}

export function forgetLinkDisplay(tenantId: string): void {
  store().entries.delete(tenantId)
}

export type LinkDisplay =
  | { kind: 'qr'; qr: QrShown }
  | { kind: 'pairing'; pairing: PairingShown }
  /** The QR expired and may be renewed now. */
  | { kind: 'renewable'; renewals: number }
  /** Automatic renewals used up: the admin must click. */
  | { kind: 'exhausted' }

export function currentLinkDisplay(tenantId: string, now = Date.now()): LinkDisplay {
  const entry = store().entries.get(tenantId)
  if (!entry) return { kind: 'renewable', renewals: 0 }
  if (entry.pairing) return { kind: 'pairing', pairing: entry.pairing }
  if (entry.qr && entry.qr.expiresAt > now) return { kind: 'qr', qr: entry.qr }
  return entry.renewals >= MAX_AUTO_RENEWALS ? { kind: 'exhausted' } : { kind: 'renewable', renewals: entry.renewals }
}

/**
 * Renews the QR once for every concurrent loader of a tenant (several tabs, meta refresh):
 * one `generate()` in flight per tenant per process.
 */
export async function renewQr(tenantId: string, generate: () => Promise<QrShown>): Promise<QrShown | null> {
  const { inflight } = store()
  const running = inflight.get(tenantId)
  if (running) return running
  const before = store().entries.get(tenantId)
  const task = (async () => {
    try {
      const qr = await generate()
      put(tenantId, { qr, renewals: (before?.renewals ?? 0) + 1, touchedAt: Date.now() })
      return qr
    } finally {
      inflight.delete(tenantId)
    }
  })()
  inflight.set(tenantId, task)
  return task
}

/** A failed renewal still counts, so an upstream outage does not turn into a retry storm. */
export function countFailedRenewal(tenantId: string): void {
  const before = store().entries.get(tenantId)
  put(tenantId, { renewals: (before?.renewals ?? 0) + 1, touchedAt: Date.now() })
}
