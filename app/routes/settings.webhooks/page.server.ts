import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node'
import { z } from 'zod'
import { presentWebhookDelivery, presentWebhookEndpoint } from '../../api/presenters'
import { getServices } from '../../services.server'
import { clientIp } from '../../utils/auth.server'
import { requirePageContext } from '../../utils/guards.server'
import { mapDomainError } from '../../utils/http-errors.server'
import { t, type Lang } from '../../utils/i18n'
import { getLang } from '../../utils/lang.server'
import { userActor } from '../../utils/whatsapp.server'
import { CRM_EVENT_TYPES, type CrmEventType } from '../../../domain/ports/event-sink'
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  resendWebhookDelivery,
  rotateWebhookSecret,
  webhookOverview,
} from '../../../domain/webhooks'
import { getFeatures, isDomainError } from '../../../domain/whatsapp'
import { WEBHOOK_INTENTS, isWebhookIntent, type WebhookActionResult, type WebhookIntent } from './intents'

const NO_STORE = { 'Cache-Control': 'no-store' }
/** Deliveries shown per endpoint (the API lists 50). */
const SHOWN_DELIVERIES = 5

/** Owners and admins only (a member gets the 403 page): endpoints with their latest deliveries. */
export async function webhooksPageLoader({ request }: LoaderFunctionArgs) {
  const ctx = await requirePageContext(request, { mutating: true })
  const services = getServices()
  const lang = await getLang(request)
  const features = await getFeatures(services.whatsapp, { tenantId: ctx.tenantId })
  const overview = features.whatsapp_enabled
    ? await webhookOverview(services.webhooks, { tenantId: ctx.tenantId, deliveriesEach: SHOWN_DELIVERIES })
    : []
  const withDeliveries = overview.map((o) => ({
    ...presentWebhookEndpoint(o.endpoint),
    deliveries: o.deliveries.map(presentWebhookDelivery),
  }))
  return json(
    { lang, enabled: features.whatsapp_enabled, eventTypes: [...CRM_EVENT_TYPES], endpoints: withDeliveries },
    { headers: NO_STORE },
  )
}

const CreateSchema = z.object({
  url: z.string().trim().min(1).max(2048).url(),
  events: z.array(z.enum(CRM_EVENT_TYPES as [string, ...string[]])).max(CRM_EVENT_TYPES.length),
})
const IdSchema = z.string().min(1).max(100)

type Handler = (input: { tenantId: string; userId: string; form: FormData; ip?: string }) => Promise<WebhookActionResult>

const HANDLERS: Record<WebhookIntent, Handler> = {
  async [WEBHOOK_INTENTS.create]({ tenantId, userId, form, ip }) {
    const parsed = CreateSchema.safeParse({ url: form.get('url'), events: form.getAll('events') })
    if (!parsed.success) throw new InvalidForm(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })))
    const created = await createWebhookEndpoint(getServices().webhooks, {
      tenantId,
      actor: userActor(userId),
      ...(ip ? { ip } : {}),
      url: parsed.data.url,
      events: parsed.data.events as CrmEventType[],
    })
    return { ok: true, intent: 'create', endpointId: created.endpoint.id, url: created.endpoint.url, secret: created.secret }
  },
  async [WEBHOOK_INTENTS.remove]({ tenantId, userId, form, ip }) {
    const endpointId = IdSchema.parse(form.get('endpointId'))
    await deleteWebhookEndpoint(getServices().webhooks, { tenantId, actor: userActor(userId), ...(ip ? { ip } : {}), endpointId })
    return { ok: true, intent: 'delete' }
  },
  async [WEBHOOK_INTENTS.rotate]({ tenantId, userId, form, ip }) {
    const endpointId = IdSchema.parse(form.get('endpointId'))
    const rotated = await rotateWebhookSecret(getServices().webhooks, {
      tenantId,
      actor: userActor(userId),
      ...(ip ? { ip } : {}),
      endpointId,
    })
    return { ok: true, intent: 'rotate', endpointId, url: rotated.endpoint.url, secret: rotated.secret }
  },
  async [WEBHOOK_INTENTS.resend]({ tenantId, userId, form, ip }) {
    const deliveryId = IdSchema.parse(form.get('deliveryId'))
    await resendWebhookDelivery(getServices().webhooks, { tenantId, actor: userActor(userId), ...(ip ? { ip } : {}), deliveryId })
    return { ok: true, intent: 'resend' }
  },
}

class InvalidForm extends Error {
  constructor(readonly issues: Array<{ path: string; message: string }>) {
    super('invalid form')
  }
}

/** guard (owner/admin, same origin) → `intent` → one handler → one use case; failures shown beside the form. */
export async function webhooksPageAction({ request, context }: ActionFunctionArgs) {
  const ctx = await requirePageContext(request, { mutating: true })
  const form = await request.formData()
  const intent = form.get('intent')
  if (!isWebhookIntent(intent)) throw new Response('Unknown intent', { status: 400, headers: NO_STORE })
  const lang: Lang = await getLang(request)
  const ip = clientIp(context) ?? undefined
  try {
    const result = await HANDLERS[intent]({ tenantId: ctx.tenantId, userId: ctx.userId, form, ...(ip ? { ip } : {}) })
    return json<WebhookActionResult>(result, { status: intent === 'create' ? 201 : 200, headers: NO_STORE })
  } catch (e) {
    if (e instanceof Response) throw e
    if (e instanceof InvalidForm || e instanceof z.ZodError) {
      const issues = e instanceof InvalidForm ? e.issues : e.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
      return json<WebhookActionResult>(
        { ok: false, intent, code: 'VALIDATION_FAILED', message: t(lang, 'hooks.invalid'), issues },
        { status: 400, headers: NO_STORE },
      )
    }
    if (isDomainError(e)) {
      const mapped = mapDomainError(e, lang)
      const issues = Array.isArray(mapped.extra.issues)
        ? (mapped.extra.issues as Array<{ path: string; message: string }>)
        : undefined
      return json<WebhookActionResult>(
        { ok: false, intent, code: mapped.code, message: mapped.message, ...(issues ? { issues } : {}) },
        { status: mapped.status, headers: { ...NO_STORE, ...mapped.headers } },
      )
    }
    getServices().logger.error({ intent, err: e instanceof Error ? e.name : String(e) }, 'webhooks page action failed')
    return json<WebhookActionResult>(
      { ok: false, intent, code: 'INTERNAL', message: t(lang, 'api.internal') },
      { status: 500, headers: NO_STORE },
    )
  }
}
