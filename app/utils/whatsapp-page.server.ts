import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node'
import { CONFIRM_DISCONNECT, CONFIRM_PARAM, INTENTS, PAGE_PATH, isIntent, type Intent } from '~/components/whatsapp/intents'
import type { ActionResult, DegradedStatus, PanelView, WaitingDisplay } from '~/components/whatsapp/types'
import { getServices } from '~/services.server'
import { clientIp } from './auth.server'
import { requirePageContext, type PageContext } from './guards.server'
import { mapDomainError } from './http-errors.server'
import { getLang, t, type Lang, type MessageKey } from './i18n'
import { countFailedRenewal, currentLinkDisplay, forgetLinkDisplay, rememberPairing, rememberQr, renewQr } from './link-display.server'
import { publicUrlOf, userActor } from './whatsapp.server'
import {
  PhoneNumberSchema,
  TestMessageSchema,
  disconnect,
  generateQr,
  getConnectionStatus,
  getFeatures,
  isDomainError,
  requestPairingCode,
  requestUpgrade,
  sendTestMessage,
  type ConnectionStatusResult,
} from '../../domain/whatsapp'

/**
 * Loader and action of `/settings/whatsapp` (app/routes/settings.whatsapp.tsx). Kept in a
 * `.server.ts` module so the browser bundle of the route carries none of the domain or zod.
 */
const NO_STORE = { 'Cache-Control': 'no-store' }
const DEGRADED: ReadonlySet<string> = new Set(['starting', 'yellowCard', 'blocked', 'sleepMode'])

// ---------------------------------------------------------------------------------------------
// Loader: guard → the tenant's flag → its live status → what to show.

export async function whatsappPageLoader({ request, context }: LoaderFunctionArgs) {
  const ctx = await requirePageContext(request)
  const { wa } = getServices()
  const lang = getLang(request)
  const url = new URL(request.url)
  const flags = await getFeatures(wa, { tenantId: ctx.tenantId })
  let view: PanelView
  let stale: string | null = null
  if (!flags.whatsapp_enabled) {
    view = { state: 'disabled' }
  } else {
    const status = await getConnectionStatus(wa, { tenantId: ctx.tenantId })
    if (status.stale) stale = status.checkedAt.toISOString()
    view = await viewOf(status, ctx, request, context)
  }
  return json(
    {
      lang,
      canMutate: ctx.canMutate,
      confirm: url.searchParams.get(CONFIRM_PARAM) === CONFIRM_DISCONNECT,
      view,
      stale,
      now: new Date().toISOString(),
    },
    { headers: NO_STORE },
  )
}

async function viewOf(status: ConnectionStatusResult, ctx: PageContext, request: Request, context: unknown): Promise<PanelView> {
  if (status.connected) {
    forgetLinkDisplay(ctx.tenantId)
    return { state: 'connected', phoneNumber: status.phoneNumber ?? null }
  }
  if (DEGRADED.has(status.status)) {
    forgetLinkDisplay(ctx.tenantId)
    return { state: 'degraded', status: status.status as DegradedStatus }
  }
  if (status.linkExpired || !status.linkExpiresAt) {
    forgetLinkDisplay(ctx.tenantId)
    return { state: 'unlinked', expired: status.linkExpired === true }
  }
  const display = ctx.canMutate ? await waitingDisplay(ctx, request, context) : ({ kind: 'hidden' } as const)
  return { state: 'waiting', linkExpiresAt: status.linkExpiresAt.toISOString(), display }
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
 * The QR or pairing code of the running attempt, from this process's memory; an expired QR is
 * renewed here a bounded number of times (see link-display.server.ts), never on every refresh.
 */
async function waitingDisplay(ctx: PageContext, request: Request, context: unknown): Promise<WaitingDisplay> {
  const shown = currentLinkDisplay(ctx.tenantId)
  switch (shown.kind) {
    case 'qr':
      return { kind: 'qr', src: shown.qr.src, expiresAt: new Date(shown.qr.expiresAt).toISOString() }
    case 'pairing':
      return { kind: 'pairing', code: shown.pairing.code, expiresAt: new Date(shown.pairing.expiresAt).toISOString() }
    case 'exhausted':
      return { kind: 'exhausted' }
    case 'renewable':
      if (!mayRenewOnGet(request)) return { kind: 'exhausted' }
      try {
        const { wa } = getServices()
        const qr = await renewQr(ctx.tenantId, async () => {
          const fresh = await generateQr(wa, { tenantId: ctx.tenantId, actor: userActor(ctx.userId), publicUrl: publicUrlOf(context) })
          return { src: fresh.qrCode, expiresAt: fresh.expiresAt.getTime() }
        })
        return qr ? { kind: 'qr', src: qr.src, expiresAt: new Date(qr.expiresAt).toISOString() } : { kind: 'exhausted' }
      } catch (e) {
        if (!isDomainError(e)) throw e
        countFailedRenewal(ctx.tenantId)
        const mapped = mapDomainError(e, getLang(request))
        return { kind: 'error', code: mapped.code, message: mapped.message, ...(mapped.retryAfter === undefined ? {} : { retryAfter: mapped.retryAfter }) }
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

const FIELD_MESSAGES = { phoneNumber: 'wa.error.phone', to: 'wa.error.phone', message: 'wa.error.message' } as const satisfies Record<
  NonNullable<Extract<ActionResult, { ok: false }>['field']>,
  MessageKey
>

/** A form field the page refuses: the API's 400 VALIDATION_FAILED, with the field and its hint. */
function invalidField(lang: Lang, intent: Intent, name: keyof typeof FIELD_MESSAGES): Response {
  return result({ intent, ok: false, code: 'VALIDATION_FAILED', message: t(lang, FIELD_MESSAGES[name]), field: name }, 400)
}

function field(form: FormData, name: string): string | undefined {
  const v = form.get(name)
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined
}

async function linkQr({ ctx, context, ip }: HandlerArgs): Promise<Response> {
  const qr = await generateQr(getServices().wa, {
    tenantId: ctx.tenantId,
    actor: userActor(ctx.userId),
    publicUrl: publicUrlOf(context),
    ip,
  })
  rememberQr(ctx.tenantId, { src: qr.qrCode, expiresAt: qr.expiresAt.getTime() })
  return backToPage()
}

/** "Générer un nouveau QR code": same use case; a click also re-arms the automatic renewals. */
const refreshQr: Handler = (args) => linkQr(args)

async function linkPhone({ ctx, form, lang, context, ip }: HandlerArgs): Promise<Response> {
  const phone = PhoneNumberSchema.safeParse(field(form, 'phoneNumber') ?? '')
  if (!phone.success) return invalidField(lang, INTENTS.linkPhone, 'phoneNumber')
  const pairing = await requestPairingCode(getServices().wa, {
    tenantId: ctx.tenantId,
    actor: userActor(ctx.userId),
    phoneNumber: phone.data,
    publicUrl: publicUrlOf(context),
    ip,
  })
  rememberPairing(ctx.tenantId, { code: pairing.code, expiresAt: pairing.expiresAt.getTime() })
  return backToPage()
}

async function sendTest({ ctx, form, lang, ip }: HandlerArgs): Promise<Response> {
  const rawTo = field(form, 'to')
  const to = rawTo === undefined ? undefined : PhoneNumberSchema.safeParse(rawTo)
  if (to && !to.success) return invalidField(lang, INTENTS.sendTest, 'to')
  const message = TestMessageSchema.safeParse(form.get('message') ?? '')
  if (!message.success) return invalidField(lang, INTENTS.sendTest, 'message')
  const sent = await sendTestMessage(getServices().wa, {
    tenantId: ctx.tenantId,
    actor: userActor(ctx.userId),
    ...(to?.data ? { to: to.data } : {}),
    message: message.data,
    ip,
  })
  return result({ intent: INTENTS.sendTest, ok: true, messageId: sent.messageId })
}

async function disconnectNow({ ctx, ip }: HandlerArgs): Promise<Response> {
  await disconnect(getServices().wa, { tenantId: ctx.tenantId, actor: userActor(ctx.userId), ip })
  forgetLinkDisplay(ctx.tenantId)
  return backToPage()
}

async function upgrade({ ctx, ip }: HandlerArgs): Promise<Response> {
  const outcome = await requestUpgrade(getServices().wa, { tenantId: ctx.tenantId, actor: userActor(ctx.userId), ...(ip ? { ip } : {}) })
  return result({ intent: INTENTS.requestUpgrade, ok: true, upgrade: outcome.status })
}

const HANDLERS: Record<Intent, Handler> = {
  [INTENTS.linkQr]: linkQr,
  [INTENTS.refreshQr]: refreshQr,
  [INTENTS.linkPhone]: linkPhone,
  [INTENTS.sendTest]: sendTest,
  [INTENTS.disconnect]: disconnectNow,
  [INTENTS.requestUpgrade]: upgrade,
}

export async function whatsappPageAction({ request, context }: ActionFunctionArgs) {
  const ctx = await requirePageContext(request, { mutating: true })
  const form = await request.formData()
  const intent = form.get('intent')
  if (!isIntent(intent)) throw new Response('Unknown intent', { status: 400, headers: NO_STORE })
  const { logger } = getServices()
  const lang = getLang(request)
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

