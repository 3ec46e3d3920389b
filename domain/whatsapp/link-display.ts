import type { LinkDisplayRecord, LinkDisplayStore, ShownLink } from '../ports/link-display-store'
import type { Actor, WhatsAppDeps } from './whatsapp-deps'
import { generateQr, type GenerateQrResult } from './generate-qr'
import { requestPairingCode, type PairingCodeResult } from './request-pairing-code'
import { isDomainError, type DomainError } from './whatsapp.errors'

/**
 * How many times an expired QR is renewed without a click, like WhatsApp Web. Without
 * JavaScript the waiting page reloads itself every 3 s and must show the same QR again without
 * a `generateQr` each time (rate limit, and each call restarts the attempt). The bound keeps a
 * forgotten tab from generating QR codes forever and lets the attempt reach its hard limit.
 */
export const MAX_AUTO_RENEWALS = 5

export type LinkDisplay =
  | ShownLink
  /** Automatic renewals used up (or not allowed on this request): the admin clicks. */
  | { kind: 'exhausted' }
  /** The renewal was refused (rate limit, upstream down): counted, shown with the button. */
  | { kind: 'renewFailed'; error: DomainError }

export interface LinkDisplayInput {
  tenantId: string
  actor: Actor
  publicUrl: string
  ip?: string
  /** The number the attempt expects (decision 200); absent on a renewal: the attempt keeps its own. */
  expectedPhone?: string
}

/** The admin clicked "link with a QR code" (or "new QR code"): show it, re-arm the renewals. */
export async function showNewQr(
  deps: WhatsAppDeps,
  displays: LinkDisplayStore,
  input: LinkDisplayInput,
): Promise<GenerateQrResult> {
  const qr = await generateQr(deps, input)
  displays.save(input.tenantId, { attemptExpiresAt: qr.linkExpiresAt, shown: shownQr(qr), renewals: 0 })
  return qr
}

/** The admin asked for a pairing code: show it for the whole attempt (never renewed). */
export async function showNewPairingCode(
  deps: WhatsAppDeps,
  displays: LinkDisplayStore,
  input: LinkDisplayInput & { phoneNumber: string },
): Promise<PairingCodeResult> {
  const pairing = await requestPairingCode(deps, input)
  const shown: ShownLink = { kind: 'pairing', code: pairing.code, expiresAt: pairing.expiresAt }
  displays.save(input.tenantId, { attemptExpiresAt: pairing.linkExpiresAt, shown, renewals: 0 })
  return pairing
}

/**
 * What the page shows for the running attempt (its hard limit `attemptExpiresAt`): the QR or
 * code shown before, or — once the QR expired, when `mayRenew` and fewer than
 * `MAX_AUTO_RENEWALS` renewals since the last click — a renewed QR. A failed renewal counts too,
 * so an outage does not turn into a retry storm. Only the renewal writes anything.
 *
 * A record of another attempt is not shown. Its count still applies while that attempt could
 * still run (another process renewed meanwhile: the bound holds per process, as before), and
 * starts over once it ended (a new attempt).
 */
export async function currentLinkDisplay(
  deps: WhatsAppDeps,
  displays: LinkDisplayStore,
  input: LinkDisplayInput & { attemptExpiresAt: Date; mayRenew: boolean },
): Promise<LinkDisplay> {
  const { tenantId } = input
  const now = deps.clock.now()
  const record = displays.get(tenantId)
  const ofThisAttempt = record !== null && record.attemptExpiresAt.getTime() === input.attemptExpiresAt.getTime()
  const shown = ofThisAttempt ? record.shown : null
  if (shown?.kind === 'pairing') return shown
  if (shown?.kind === 'qr' && shown.expiresAt > now) return shown
  const renewals = record && (ofThisAttempt || record.attemptExpiresAt > now) ? record.renewals : 0
  if (!input.mayRenew || renewals >= MAX_AUTO_RENEWALS) return { kind: 'exhausted' }

  return displays.once(tenantId, async (): Promise<LinkDisplay> => {
    let next: LinkDisplayRecord
    let answer: LinkDisplay
    try {
      const qr = await generateQr(deps, {
        tenantId,
        actor: input.actor,
        publicUrl: input.publicUrl,
        ...(input.ip ? { ip: input.ip } : {}),
      })
      answer = shownQr(qr)
      next = { attemptExpiresAt: qr.linkExpiresAt, shown: answer, renewals: renewals + 1 }
    } catch (err) {
      if (!isDomainError(err)) throw err
      answer = { kind: 'renewFailed', error: err }
      next = { attemptExpiresAt: input.attemptExpiresAt, shown: null, renewals: renewals + 1 }
    }
    displays.save(tenantId, next)
    return answer
  })
}

function shownQr(qr: GenerateQrResult): ShownLink {
  return { kind: 'qr', qrCode: qr.qrCode, expiresAt: qr.expiresAt }
}
