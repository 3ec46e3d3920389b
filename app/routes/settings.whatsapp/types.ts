import type { ApiErrorCode } from '../../api/error-codes'
import type { StatusEventResponse, StatusResponse } from '../../api/schemas'
import type { Intent } from './intents'

/** What to do now in a degraded state (the status answer's `advice`). */
export type StatusAdvice = NonNullable<StatusResponse['advice']>

/** What the loader tells the panel to show (dates as ISO strings). */
export type DegradedStatus = 'starting' | 'yellowCard' | 'blocked' | 'sleepMode'

export type WaitingDisplay =
  | { kind: 'qr'; src: string; expiresAt: string }
  | { kind: 'pairing'; code: string; expiresAt: string }
  /** Automatic QR renewals used up: the admin clicks "Générer un nouveau QR code". */
  | { kind: 'exhausted' }
  /** The QR could not be renewed (rate limit, upstream down): the error, and the button. */
  | { kind: 'error'; code: ApiErrorCode; message: string; retryAfter?: number }
  /** Members: the state only. */
  | { kind: 'hidden' }

export type PanelView =
  /**
   * WhatsApp Pro is off. `ended`: it was on, and a number is still linked until `unlinkAt`
   * (decision 169): the page says so and keeps the disconnect button.
   */
  | { state: 'disabled'; ended?: { endedAt: string; unlinkAt: string; phoneNumber: string | null } }
  | {
      state: 'unlinked'
      expired: boolean
      /** The last attempt was refused: another phone than the expected one scanned (decision 200). */
      wrongNumber?: { expectedPhone: string; actualPhoneMasked: string }
    }
  | { state: 'waiting'; linkExpiresAt: string | null; display: WaitingDisplay }
  /** The connected card shows the linked account as the status answer describes it. */
  | { state: 'connected'; status: StatusResponse }
  /** `advice`: the status answer's code of what to do now (its text: `wa.advice.<code>`). */
  | { state: 'degraded'; status: DegradedStatus; advice?: StatusAdvice }

/**
 * A refused action answers the API's code (the one table, app/utils/http-errors.server.ts; a bad
 * form field is VALIDATION_FAILED with `field`) and the text to show, in the page's language.
 */
export type ActionErrorCode = ApiErrorCode

/** The "recent messages" card (owners/admins, linked): masked peers, no texts (decision 177). */
export interface RecentMessagesView {
  /** `sendingState` of the connection: `paused` (yellowCard/blocked) or `waiting` get a banner. */
  sending: 'sending' | 'waiting' | 'paused'
  items: Array<{
    id: string
    direction: 'outbound' | 'inbound'
    /** Masked (`+33 6 •• •• 56 78`), or null for a group chat. */
    peer: string | null
    status: string
    at: string
  }>
}

export type ActionResult =
  | {
      intent: Intent
      ok: true
      messageId?: string
      /** The test message as recorded: its status is shown live. */
      recordedId?: string
      upgrade?: 'recorded' | 'already_pending' | 'already_enabled'
    }
  | {
      intent: Intent
      ok: false
      code: ActionErrorCode
      message: string
      retryAfter?: number
      field?: 'phoneNumber' | 'to' | 'message' | 'understood' | 'expectedPhone'
    }

/** The "Historique" card: the last recorded transitions, newest first (no phone, no instance). */
export interface StatusHistoryView {
  items: Array<Pick<StatusEventResponse, 'id' | 'at' | 'to' | 'source' | 'reason'>>
}

/** Reboot and remove (decisions 210–211): what the page offers around the instance. */
export interface LifecycleView {
  /** Partner mode: "Déconnecter" keeps the instance; "Supprimer le numéro" exists. */
  partnerMode: boolean
  /** The tenant holds a partner instance: "Supprimer le numéro" is offered. */
  deleteNumber: boolean
  /** `?confirm=delete-number`: the confirmation step is shown. */
  confirmDelete: boolean
}

/**
 * Simulator mode (decision 216): the simulated phone's page for the link shown, `scan` the URL
 * the QR encodes, `pair` the phone's pairing screen with the code filled in.
 */
export interface SimulatedPhoneLink {
  kind: 'scan' | 'pair'
  href: string
}
