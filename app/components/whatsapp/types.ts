import type { Intent } from './intents'

/** What the loader tells the panel to show (dates as ISO strings). */
export type DegradedStatus = 'starting' | 'yellowCard' | 'blocked' | 'sleepMode'

export type WaitingDisplay =
  | { kind: 'qr'; src: string; expiresAt: string }
  | { kind: 'pairing'; code: string; expiresAt: string }
  /** Automatic QR renewals used up: the admin clicks "Générer un nouveau QR code". */
  | { kind: 'exhausted' }
  /** The QR could not be renewed (rate limit, upstream down): the error, and the button. */
  | { kind: 'error'; code: string; retryAfter?: number }
  /** Members: the state only. */
  | { kind: 'hidden' }

export type PanelView =
  | { state: 'disabled' }
  | { state: 'unlinked'; expired: boolean }
  | { state: 'waiting'; linkExpiresAt: string | null; display: WaitingDisplay }
  | { state: 'connected'; phoneNumber: string | null }
  | { state: 'degraded'; status: DegradedStatus }

/** Error codes the page explains (domain codes + form field problems). */
export type ActionErrorCode = string

export type ActionResult =
  | { intent: Intent; ok: true; messageId?: string; upgrade?: 'recorded' | 'already_pending' | 'already_enabled' }
  | { intent: Intent; ok: false; code: ActionErrorCode; retryAfter?: number; field?: 'phoneNumber' | 'to' | 'message' }
