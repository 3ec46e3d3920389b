import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node'
import { presentStatus } from '../../api/presenters'
import type { StatusResponse } from '../../api/schemas'
import { getServices } from '../../services.server'
import { clientIp } from '../../utils/auth.server'
import { requirePageContext, type PageContext } from '../../utils/guards.server'
import { mapDomainError } from '../../utils/http-errors.server'
import { t, type Lang, type MessageKey } from '../../utils/i18n'
import { getLang } from '../../utils/lang.server'
import { toE164 } from '../../utils/phone.server'
import { simulatedPhoneLink } from '../../utils/dev-simulator.server'
import { publicUrlOf, userActor } from '../../utils/whatsapp.server'
import {
  addonGraceOf,
  TestMessageSchema,
  currentLinkDisplay,
  disconnect,
  getConnectionStatus,
  getFeatures,
  getStatusHistory,
  hasEverLinked,
  isDomainError,
  requestUpgrade,
  sendTestMessage,
  showNewPairingCode,
  showNewQr,
  deleteNumber,
  lifecycleActionsOf,
  rebootInstance,
} from '../../../domain/whatsapp'
import { recentMessages, sendingState } from '../../../domain/messages'
import { maskPhone } from '../../utils/mask-phone'
import { CONFIRM_DISCONNECT, CONFIRM_PARAM, INTENTS, PAGE_PATH, isIntent, type Intent } from './intents'
import { CONFIRM_DELETE_NUMBER, DELETE_UNDERSTOOD_FIELD } from './intents'
import { awaitsScan, panelViewOf } from './panel-view'
import type { ActionResult, PanelView, RecentMessagesView, StatusHistoryView, WaitingDisplay } from './types'
import type { LifecycleView } from './types'

/**
 * Loader and action of `/settings/whatsapp` (route.tsx beside it). Kept in a `.server.ts`
 * module so the browser bundle of the route carries none of the domain or zod.
 */
const NO_STORE = { 'Cache-Control': 'no-store' }

// ---------------------------------------------------------------------------------------------
// Loader: guard → the tenant's flag → its live status → what to show.

export async function whatsappPageLoader({ request, context }: LoaderFunctionArgs) {
  const ctx = await requirePageContext(request, { context })
  const { whatsapp: wa } = getServices()
  const lang = await getLang(request)
  const url = new URL(request.url)
  const flags = await getFeatures(wa, { tenantId: ctx.tenantId })
  let view: PanelView
  let stale: string | null = null
  let messages: RecentMessagesView | null = null
  if (!flags.whatsapp_enabled) {
    const ended = await addonGraceOf(wa, { tenantId: ctx.tenantId })
    const phone = ended ? (await getConnectionStatus(wa, { tenantId: ctx.tenantId })).account?.phone : undefined
    view = ended
      ? {
          state: 'disabled',
          ended: { endedAt: ended.endedAt.toISOString(), unlinkAt: ended.unlinkAt.toISOString(), phoneNumber: phone ?? null },
        }
      : { state: 'disabled' }
  } else {
    const status = presentStatus(await getConnectionStatus(wa, { tenantId: ctx.tenantId }))
    if (status.stale) stale = status.checkedAt ?? null
    view = panelViewOf(status, awaitsScan(status) ? await waitingDisplay(status, ctx, lang, request, context) : undefined)
    // Owners and admins: the latest messages (no texts) and whether the queue sends (decision 177).
    if (ctx.canMutate && (view.state === 'connected' || view.state === 'degraded')) {
      messages = await recentMessagesView(ctx.tenantId, status.status)
    }
  }
  // The status history (everyone who sees the status), and the first-link checklist (decision 207).
  const history = view.state === 'disabled' && !view.ended ? null : await statusHistoryView(ctx.tenantId)
  const coaching =
    ctx.canMutate &&
    (view.state === 'unlinked' || view.state === 'waiting') &&
    !(await hasEverLinked(wa, { tenantId: ctx.tenantId }))
  // Simulator mode: a link to the simulated phone beside the QR or the code (decision 216).
  const shown = view.state === 'waiting' ? view.display.kind : null
  const simulatorPhone = shown === 'qr' || shown === 'pairing' ? await simulatedPhoneLink(ctx.tenantId, shown) : null
  return json(
    {
      lang,
      canMutate: ctx.canMutate,
      history,
      coaching,
      simulatorPhone,
      confirm: url.searchParams.get(CONFIRM_PARAM) === CONFIRM_DISCONNECT,
      view,
      stale,
      messages,
      lifecycle: await lifecycleView(ctx.tenantId, url),
      now: new Date().toISOString(),
      expectedPhonePrefill: view.state === 'unlinked' && ctx.canMutate ? await expectedPhonePrefill(ctx.tenantId, view) : null,
    },
    { headers: NO_STORE },
  )
}

/**
 * The link form's expected number (decision 200): the one just refused, else the last linked one
 * — only a number the form itself accepts, so submitting the prefilled form never fails on it (a
 * number WhatsApp linked may fall in a range the phone metadata calls invalid, e.g. a reserved one).
 */
async function expectedPhonePrefill(tenantId: string, view: Extract<PanelView, { state: 'unlinked' }>): Promise<string | null> {
  const phone = view.wrongNumber?.expectedPhone ?? (await getServices().whatsapp.connections.lastLinkedPhone(tenantId))
  return phone !== null && toE164(phone) !== null ? phone : null
}

const RECENT_MESSAGES = 10

const HISTORY_ENTRIES = 20

async function statusHistoryView(tenantId: string): Promise<StatusHistoryView> {
  const page = await getStatusHistory(getServices().whatsapp, { tenantId, limit: HISTORY_ENTRIES })
  return {
    items: page.entries.map((e) => ({ id: e.id, at: e.at.toISOString(), to: e.to, source: e.source, reason: e.reason })),
  }
}

/** Reboot and remove (decisions 210–211): partner mode and whether the tenant holds an instance. */
async function lifecycleView(tenantId: string, url: URL): Promise<LifecycleView> {
  const actions = await lifecycleActionsOf(getServices().whatsapp, { tenantId })
  return {
    partnerMode: actions.partnerMode,
    deleteNumber: actions.deleteNumber,
    confirmDelete: actions.deleteNumber && url.searchParams.get(CONFIRM_PARAM) === CONFIRM_DELETE_NUMBER,
  }
}

async function recentMessagesView(tenantId: string, status: StatusResponse['status']): Promise<RecentMessagesView> {
  const recent = await recentMessages(getServices().messageEvents, { tenantId, limit: RECENT_MESSAGES })
  return {
    sending: sendingState(status),
    items: recent.map((m) => ({
      id: m.id,
      direction: m.direction,
      peer: maskPhone(m.peer),
      status: m.status,
      at: m.at.toISOString(),
    })),
  }
}

/**
 * Renewing an expired QR calls `generateQr` (audit row, rate-limit slot, attempt clock), so a GET
 * does it only for the page's own reloads: the browser marks them `Sec-Fetch-Site: same-origin`
 * (the no-JS meta refresh, Remix's revalidation fetches), a header no other site can forge. A
 * cross-site navigation, a typed URL or a client without fetch metadata sees "generate a new one"
 * instead (decision 086).
 */
function mayRenewOnGet(request: Request): boolean {
  return request.headers.get('sec-fetch-site') === 'same-origin'
}

/**
 * The QR or pairing code of the running attempt (members see the state only). The one write a
 * GET may cause is the bounded renewal of an expired QR, decided by the domain
 * (`currentLinkDisplay`, decision 125).
 */
async function waitingDisplay(
  status: StatusResponse,
  ctx: PageContext,
  lang: Lang,
  request: Request,
  context: unknown,
): Promise<WaitingDisplay> {
  if (!ctx.canMutate || status.linkExpiresAt === undefined) return { kind: 'hidden' }
  const { whatsapp: wa, linkDisplays } = getServices()
  const shown = await currentLinkDisplay(wa, linkDisplays, {
    tenantId: ctx.tenantId,
    actor: userActor(ctx.userId),
    publicUrl: publicUrlOf(context),
    attemptExpiresAt: new Date(status.linkExpiresAt),
    mayRenew: mayRenewOnGet(request),
  })
  switch (shown.kind) {
    case 'qr':
      return { kind: 'qr', src: shown.qrCode, expiresAt: shown.expiresAt.toISOString() }
    case 'pairing':
      return { kind: 'pairing', code: shown.code, expiresAt: shown.expiresAt.toISOString() }
    case 'exhausted':
      return { kind: 'exhausted' }
    case 'renewFailed': {
      const mapped = mapDomainError(shown.error, lang)
      return {
        kind: 'error',
        code: mapped.code,
        message: mapped.message,
        ...(mapped.retryAfter === undefined ? {} : { retryAfter: mapped.retryAfter }),
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Action: guard (owner/admin, same origin) → intent → one named handler → one use case.

interface HandlerArgs {
  ctx: PageContext
  form: FormData
  lang: Lang
  request: Request
  /** The load context (client IP, this server's own origin). */
  context: unknown
  ip: string | undefined
}
type Handler = (args: HandlerArgs) => Promise<Response>

const result = (body: ActionResult, status = 200) => json<ActionResult>(body, { status, headers: NO_STORE })
const backToPage = () => redirect(PAGE_PATH, { headers: NO_STORE })

const FIELD_MESSAGES = {
  phoneNumber: 'wa.error.phone',
  to: 'wa.error.phone',
  message: 'wa.error.message',
  understood: 'wa.delete.mustConfirm',
  expectedPhone: 'wa.error.expectedPhone',
} as const satisfies Record<NonNullable<Extract<ActionResult, { ok: false }>['field']>, MessageKey>

/** A form field the page refuses: the API's 400 VALIDATION_FAILED, with the field and its hint. */
function invalidField(lang: Lang, intent: Intent, name: keyof typeof FIELD_MESSAGES): Response {
  return result({ intent, ok: false, code: 'VALIDATION_FAILED', message: t(lang, FIELD_MESSAGES[name]), field: name }, 400)
}

function field(form: FormData, name: string): string | undefined {
  const v = form.get(name)
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined
}

async function linkQr({ ctx, form, lang, context, ip }: HandlerArgs): Promise<Response> {
  // The right phone (decision 200): the optional expected number, E.164 or national (FR).
  const rawExpected = field(form, 'expectedPhone')
  const expectedPhone = rawExpected === undefined ? undefined : toE164(rawExpected)
  if (expectedPhone === null) return invalidField(lang, INTENTS.linkQr, 'expectedPhone')
  const { whatsapp: wa, linkDisplays } = getServices()
  await showNewQr(wa, linkDisplays, {
    tenantId: ctx.tenantId,
    actor: userActor(ctx.userId),
    publicUrl: publicUrlOf(context),
    ip,
    ...(expectedPhone ? { expectedPhone } : {}),
  })
  return backToPage()
}

/** "Générer un nouveau QR code": same use case; a click also re-arms the automatic renewals. */
const refreshQr: Handler = (args) => linkQr(args)

async function linkPhone({ ctx, form, lang, context, ip }: HandlerArgs): Promise<Response> {
  // E.164 or national in the tenant's country ("06 12 34 56 78"), as the API accepts.
  const phone = toE164(field(form, 'phoneNumber') ?? '')
  if (!phone) return invalidField(lang, INTENTS.linkPhone, 'phoneNumber')
  const { whatsapp: wa, linkDisplays } = getServices()
  await showNewPairingCode(wa, linkDisplays, {
    tenantId: ctx.tenantId,
    actor: userActor(ctx.userId),
    phoneNumber: phone,
    publicUrl: publicUrlOf(context),
    ip,
  })
  return backToPage()
}

async function sendTest({ ctx, form, lang, ip }: HandlerArgs): Promise<Response> {
  const rawTo = field(form, 'to')
  const to = rawTo === undefined ? undefined : toE164(rawTo)
  if (to === null) return invalidField(lang, INTENTS.sendTest, 'to')
  const message = TestMessageSchema.safeParse(form.get('message') ?? '')
  if (!message.success) return invalidField(lang, INTENTS.sendTest, 'message')
  const services = getServices()
  const sent = await sendTestMessage(
    services.whatsapp,
    {
      tenantId: ctx.tenantId,
      actor: userActor(ctx.userId),
      ...(to ? { to } : {}),
      message: message.data,
      ip,
    },
    services.messages.store,
  )
  return result({
    intent: INTENTS.sendTest,
    ok: true,
    messageId: sent.messageId,
    ...(sent.recordedId ? { recordedId: sent.recordedId } : {}),
  })
}

async function disconnectNow({ ctx, ip }: HandlerArgs): Promise<Response> {
  // The shown QR/code needs no forgetting: it belongs to the attempt that just ended.
  await disconnect(getServices().whatsapp, { tenantId: ctx.tenantId, actor: userActor(ctx.userId), ip })
  return backToPage()
}

async function upgrade({ ctx, ip }: HandlerArgs): Promise<Response> {
  const outcome = await requestUpgrade(getServices().whatsapp, {
    tenantId: ctx.tenantId,
    actor: userActor(ctx.userId),
    ...(ip ? { ip } : {}),
  })
  return result({ intent: INTENTS.requestUpgrade, ok: true, upgrade: outcome.status })
}

// --- Reboot and remove (decisions 210–211) ---
async function reboot({ ctx, ip }: HandlerArgs): Promise<Response> {
  await rebootInstance(getServices().whatsapp, { tenantId: ctx.tenantId, actor: userActor(ctx.userId), ip })
  return result({ intent: INTENTS.reboot, ok: true })
}

/** "Supprimer le numéro": only with the confirmation checkbox ticked (no-JS safe: the server checks). */
async function deleteNumberNow({ ctx, form, lang, ip }: HandlerArgs): Promise<Response> {
  if (form.get(DELETE_UNDERSTOOD_FIELD) !== 'yes') return invalidField(lang, INTENTS.deleteNumber, 'understood')
  await deleteNumber(getServices().whatsapp, { tenantId: ctx.tenantId, actor: userActor(ctx.userId), ip })
  return backToPage()
}
// --- end reboot and remove ---

const HANDLERS: Record<Intent, Handler> = {
  [INTENTS.linkQr]: linkQr,
  [INTENTS.refreshQr]: refreshQr,
  [INTENTS.linkPhone]: linkPhone,
  [INTENTS.sendTest]: sendTest,
  [INTENTS.disconnect]: disconnectNow,
  [INTENTS.requestUpgrade]: upgrade,
  [INTENTS.reboot]: reboot,
  [INTENTS.deleteNumber]: deleteNumberNow,
}

export async function whatsappPageAction({ request, context }: ActionFunctionArgs) {
  const ctx = await requirePageContext(request, { mutating: true, context })
  const form = await request.formData()
  const intent = form.get('intent')
  if (!isIntent(intent)) throw new Response('Unknown intent', { status: 400, headers: NO_STORE })
  const { logger } = getServices()
  const lang = await getLang(request)
  try {
    return await HANDLERS[intent]({ ctx, form, lang, request, context, ip: clientIp(context) ?? undefined })
  } catch (e) {
    if (e instanceof Response) throw e
    // Expected failures (rate limit, upstream down, busy instance…) are shown next to the form.
    // Same table as the API: same status, code and Retry-After (app/utils/http-errors.server.ts).
    if (isDomainError(e)) {
      const mapped = mapDomainError(e, lang)
      const failure: ActionResult = { intent, ok: false, code: mapped.code, message: mapped.message }
      if (mapped.retryAfter !== undefined) failure.retryAfter = mapped.retryAfter
      return json<ActionResult>(failure, { status: mapped.status, headers: { ...NO_STORE, ...mapped.headers } })
    }
    logger.error({ intent, err: e instanceof Error ? { name: e.name, message: e.message } : String(e) }, 'settings action failed')
    return result({ intent, ok: false, code: 'INTERNAL', message: t(lang, 'api.internal') }, 500)
  }
}
