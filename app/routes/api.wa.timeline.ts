import type { LoaderFunctionArgs } from '@remix-run/node'
import { TimelineQuerySchema } from '../api/schemas'
import { presentStatusEvent } from '../api/presenters'
import { getServices } from '../services.server'
import { apiHandler, ok, parseOrThrow } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { getStatusHistory } from '../../domain/whatsapp'

// GET /api/wa/timeline?limit=&cursor= → the status history, newest first, `nextCursor` while
// more. Same access as the status (members read it; WhatsApp Pro on, or in the add-on's grace).
export async function loader({ request, context }: LoaderFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: false, context })
    const query = parseOrThrow(TimelineQuerySchema, Object.fromEntries(new URL(request.url).searchParams), 'api.query.invalid')
    const page = await getStatusHistory(services.whatsapp, {
      tenantId: ctx.tenantId,
      ...(query.limit === undefined ? {} : { limit: query.limit }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    })
    return ok({ ok: true, events: page.entries.map(presentStatusEvent), nextCursor: page.nextCursor })
  })
}
