import type { ConnectionState } from '../whatsapp/connection-state'
import type { LinkedAccount } from '../whatsapp/linked-account'

/**
 * Which gateway instance a call addresses. `apiToken` is a bearer secret: it sits in the
 * upstream URL path, so an implementation must never log, return or put it in an error message.
 */
export interface InstanceCredentials {
  /** Green-API idInstance, digits only. Safe to log. */
  instanceId: string
  /** Green-API apiTokenInstance. SECRET: never log it, never include it in errors. */
  apiToken: string
  /** Base URL of the instance's API host, e.g. https://7105.api.greenapi.com. Safe to log. */
  apiUrl: string
}

/** What `requestQr` can yield. `alreadyLinked` mirrors Green-API's `alreadyLogged`. */
export type QrResult = { kind: 'qr'; pngBase64: string } | { kind: 'alreadyLinked' } | { kind: 'error'; message: string }

export interface PairingCodeResult {
  /** Code as the phone expects it, e.g. "ABCD-EFGH" (formatted by the adapter). */
  code: string
}

/** Settings pushed to an instance so Green-API notifies us of state changes. */
export interface WebhookSettings {
  webhookUrl: string
  /** SECRET: sent back by Green-API as `Authorization: Bearer <token>`. Never log it. */
  webhookToken: string
}

export interface CreatedInstance {
  instanceId: string
  /** SECRET. */
  apiToken: string
  apiUrl: string
}

/**
 * The WhatsApp gateway as the domain needs it. Implementations map every failure to the
 * domain errors of `domain/whatsapp/whatsapp.errors.ts`:
 * - `UpstreamUnavailableError` (timeouts, 5xx, 429, 466, garbage bodies, breaker open) with an
 *   optional `retryAfterSeconds`;
 * - `UpstreamAuthError` (401/403: the stored credentials are wrong or the instance is gone).
 * Messages of thrown errors must never contain the apiToken or the full upstream URL.
 */
export interface WhatsAppProvider {
  /** Current QR code for linking (Green-API `qr`). Deadline 10 s. */
  requestQr(creds: InstanceCredentials): Promise<QrResult>
  /**
   * Authorization state (Green-API `getStateInstance`). Returns `null` while a new instance is
   * still being created (upstream body `null`). Deadline 5 s; idempotent, may be retried.
   * `once`: a single request, no retry (a 429 included): the background refresher's next pass
   * is the retry, so a 429 is never answered with another request at once.
   *
   * @example
   * const state = await provider.getState(creds, { once: true })
   */
  getState(creds: InstanceCredentials, options?: { once?: boolean }): Promise<ConnectionState | null>
  /** The linked account (Green-API `getWaSettings`: its phone), or null when not linked. */
  getLinkedAccount(creds: InstanceCredentials): Promise<LinkedAccount | null>
  /**
   * The linked account's own profile (Green-API `getContactInfo` on `<phone digits>@c.us`):
   * its name and the upstream URL of its picture, each null when it has none. Both are PERSONAL
   * DATA: never log them; the URL is fetched server-side only (decision 241), never shown.
   */
  getLinkedProfile(creds: InstanceCredentials, phoneE164: string): Promise<{ name: string | null; avatarUrl: string | null }>
  /** Pairing code for linking by phone number (Green-API `getAuthorizationCode`). */
  requestPairingCode(creds: InstanceCredentials, phoneE164: string): Promise<PairingCodeResult>
  /** Sends a text (Green-API `sendMessage`); returns the upstream message id. Never retried. */
  sendText(creds: InstanceCredentials, toE164: string, text: string): Promise<{ messageId: string }>
  /**
   * Sends a text once (Green-API `sendMessage`) and says what happened instead of throwing for
   * upstream answers (see `SendAttempt`); throws only `UpstreamAuthError` (credentials) and
   * `InvalidInputError` (a recipient or text the adapter cannot send). Never retried.
   */
  trySendText(creds: InstanceCredentials, toE164: string, text: string): Promise<SendAttempt>
  /**
   * Messages sent through the instance within the last `minutes` (Green-API
   * `lastOutgoingMessages`, 1 request/s; entries may appear up to ~2 min late), newest first.
   */
  lastOutgoingMessages(creds: InstanceCredentials, options: { minutes: number }): Promise<OutgoingMessageInfo[]>
  /** One message of a chat by its id (Green-API `getMessage`, 10 requests/s), or null when unknown. */
  getMessage(creds: InstanceCredentials, chatId: string, messageId: string): Promise<OutgoingMessageInfo | null>
  /** Unlinks the phone (Green-API `logout`). */
  logout(creds: InstanceCredentials): Promise<void>
  /** Restarts the instance (Green-API `reboot`). */
  reboot(creds: InstanceCredentials): Promise<void>
  /** Points the instance's notifications at us (Green-API `setSettings`: state changes, receipts, incoming messages). */
  configureWebhook(creds: InstanceCredentials, settings: WebhookSettings): Promise<void>
}

/**
 * What became of one `sendMessage` call, as far as the caller can know (docs/decisions/172):
 * - `sent`: Green-API took it and named it;
 * - `rejected`: Green-API refused it (HTTP 4xx): it was not sent and resending will not help
 *   (`noAccount`: the recipient has no WhatsApp);
 * - `notSent`: Green-API answered without taking it (5xx, 429, 466) or the request never left
 *   (breaker open, client-side pace, connection refused): send again later;
 * - `maybeSent`: the request left but no usable answer came back (timeout, connection reset,
 *   garbage): it may have been sent, so never resend blindly; look it up first.
 */
export type SendAttempt =
  | { kind: 'sent'; messageId: string }
  | { kind: 'rejected'; reason: 'noAccount' | 'invalid'; detail: string }
  | { kind: 'notSent'; retryAfterSeconds: number; detail: string }
  | { kind: 'maybeSent'; detail: string }

/** An outgoing message as Green-API's journal knows it (`lastOutgoingMessages`, `getMessage`). */
export interface OutgoingMessageInfo {
  messageId: string
  /** `<digits>@c.us` for a person. */
  chatId: string
  /** PERSONAL DATA. Null for a non-text message. */
  text: string | null
  /** Green-API's timestamp (whole seconds). */
  at: Date
  /** Green-API's `statusMessage` (`pending`, `sent`, `delivered`, `read`, `failed`, `noAccount`, …), or null. */
  status: string | null
}

/** Partner API (one instance per tenant). Only the `partner` instance mode uses it. */
export interface WhatsAppPartnerProvider {
  createInstance(input: { name: string } & WebhookSettings): Promise<CreatedInstance>
  deleteInstance(instanceId: string): Promise<void>
}
