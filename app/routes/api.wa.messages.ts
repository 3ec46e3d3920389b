import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { IdempotencyKeySchema, MessageListQuerySchema, SendMessageBodySchema } from '../api/schemas'
import { presentMessage } from '../api/presenters'
import { getServices } from '../services.server'
import { apiHandler, ok, parseOrThrow, readJsonBody } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { invalidRequest } from '../utils/http-errors.server'
import { toE164 } from '../utils/phone.server'
import { listMessages, queueMessage } from '../../domain/messages'

// POST /api/wa/messages {"to","text","reference"?} + optional Idempotency-Key → 202 queued (200 on
// an idempotent replay). Members may send: sending from the CRM is everyone's daily work.
export async function action({ request, context }: ActionFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: false, context })
    const rawKey = request.headers.get('idempotency-key')
    const key = rawKey === null ? null : IdempotencyKeySchema.safeParse(rawKey)
    if (key && !key.success)
      throw invalidRequest('api.header.idempotencyKey', [{ path: 'Idempotency-Key', key: 'api.issue.idempotencyKey' }])
    const body = await readJsonBody(request, SendMessageBodySchema)
    const to = toE164(body.to)
    if (!to) throw invalidRequest('api.body.invalid', [{ path: 'to', key: 'api.issue.phone' }])
    const { message, replayed } = await queueMessage(services.messages, {
      tenantId: ctx.tenantId,
      to,
      text: body.text,
      reference: body.reference ?? null,
      idempotencyKey: key?.data ?? null,
    })
    return ok({ ok: true, message: presentMessage(message) }, { status: replayed ? 200 : 202 })
  })
}

// GET /api/wa/messages?direction=&status=&limit=&cursor= → newest first, `nextCursor` while more.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: false, context })
    const query = parseOrThrow(MessageListQuerySchema, Object.fromEntries(new URL(request.url).searchParams), 'api.query.invalid')
    const page = await listMessages(services.messages, { tenantId: ctx.tenantId, ...stripUndefined(query) })
    return ok({ ok: true, messages: page.messages.map(presentMessage), nextCursor: page.nextCursor })
  })
}

function stripUndefined<T extends Record<string, unknown>>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> }
}
