import type { ActionFunctionArgs } from '@remix-run/node'
import { redirect } from '@remix-run/node'
import { z } from 'zod'
import { PhoneNumberSchema } from '../../domain/whatsapp'
import { ownInstanceOf, requireSimulator } from '../utils/dev-simulator.server'
import { errorResponse, validationFailed } from '../utils/http-errors.server'

// The control page renders here too: a refused form shows the page with its alert (no JavaScript).
export { default, handle, links, loader, meta } from './dev.simulator'

const IncomingSchema = z.object({
  from: PhoneNumberSchema,
  text: z.string().trim().min(1, 'text is required').max(4096),
})

/**
 * POST /dev/simulator/incoming: a contact writes to the viewer's linked phone. The simulator
 * sends Green-API's `incomingMessageReceived` to the instance's webhook (the app's own route),
 * and the page comes back once it is delivered. Only the viewer's own instance, like the rest.
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const { sim, ctx } = await requireSimulator(request, context)
  const parsed = IncomingSchema.safeParse(Object.fromEntries(await request.formData()))
  if (!parsed.success) {
    return validationFailed(
      'Invalid incoming message form',
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    )
  }
  const mine = await ownInstanceOf(ctx)
  if (!mine) return errorResponse(409, 'NOT_CONNECTED', 'Your tenant holds no linked instance')
  const result = await sim.shared(() => sim.injectIncoming(mine, { from: parsed.data.from, text: parsed.data.text }))
  if (!result.ok) {
    return result.reason === 'invalid_phone' || result.reason === 'invalid_message'
      ? validationFailed('Invalid incoming message form', [{ path: 'from', message: result.reason }])
      : errorResponse(409, 'NOT_CONNECTED', 'The phone is not linked: nothing was received')
  }
  await sim.flushWebhooks()
  // An instance set up before incoming notifications were turned on: say so, rather than "sent".
  return redirect(`/dev/simulator?incoming=${result.notified ? 'sent' : 'unnotified'}`)
}
