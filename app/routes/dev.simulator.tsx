import type { ActionFunctionArgs, LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { json, redirect } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { tenantInstanceId } from '../../domain/whatsapp'
import { bootedSimulator } from '~/boot.server'
import { getServices } from '~/services.server'
import { requirePageContext, type PageContext } from '~/utils/guards.server'
import { errorResponse, validationFailed } from '~/utils/http-errors.server'

import simulatorStyles from '~/styles/simulator.css'

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: simulatorStyles }]

export const meta: MetaFunction = () => [{ title: 'Simulateur Green-API' }]

const STATES = ['authorized', 'notAuthorized', 'yellowCard', 'blocked', 'starting', 'sleepMode'] as const
const FAULTS = ['slow', 'down', 'rateLimited', 'quota466', 'garbage', 'wrongShape', 'nullState', 'reset'] as const

/** Simulator mode only; owners/admins only. Everything else is a 404 / the guard's answer. */
async function requireSimulator(request: Request): Promise<{ sim: NonNullable<ReturnType<typeof bootedSimulator>>; ctx: PageContext }> {
  const simulator = bootedSimulator()
  if (!simulator) throw new Response('Not Found', { status: 404 })
  const ctx = await requirePageContext(request, { mutating: true })
  return { sim: simulator, ctx }
}

/**
 * The page shows and drives the viewer's own instance only (issue 13): the simulator holds every
 * tenant's instances, and an admin of one tenant must not break, link or unlink another's.
 * Operators see every instance with `npm run ops -- instances list` (decision 076).
 */
const ownInstanceOf = (ctx: PageContext) => tenantInstanceId(getServices().wa, { tenantId: ctx.tenantId })

export async function loader({ request }: LoaderFunctionArgs) {
  const { sim, ctx } = await requireSimulator(request)
  const mine = await ownInstanceOf(ctx)
  const view = mine ? sim.instance(mine) : null
  // Never the tokens: only what a person needs to drive the UI states by hand.
  const instances =
    view && !view.deleted
      ? [
          {
            instanceId: view.instanceId,
            state: view.state,
            phone: view.phone ? `+${view.phone}` : '',
            webhook: Boolean(view.webhookUrl),
            pairingCode: view.pairingCode,
            sent: view.sent.length,
            queued: view.queued.length,
          },
        ]
      : []
  return json({ instances })
}

const ActionSchema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('state'), instanceId: z.string().regex(/^\d+$/), state: z.enum(STATES) }),
  // Always one instance: a fault without one (the simulator's global scope) hits every tenant.
  z.object({ intent: z.literal('fault'), instanceId: z.string().regex(/^\d+$/), fault: z.enum(FAULTS) }),
  z.object({ intent: z.literal('clear') }),
])

export async function action({ request }: ActionFunctionArgs) {
  const { sim, ctx } = await requireSimulator(request)
  const parsed = ActionSchema.safeParse(Object.fromEntries(await request.formData()))
  if (!parsed.success) {
    return validationFailed(
      'Invalid simulator form',
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    )
  }
  const input = parsed.data
  const mine = await ownInstanceOf(ctx)
  if (input.intent === 'clear') {
    // Only the viewer's faults: another tenant's (or an operator's) stay in place.
    if (mine) sim.clearFaults(mine)
    return redirect('/dev/simulator')
  }
  // Same answer for another tenant's, a free and an unknown id: nothing to learn by probing.
  if (input.instanceId !== mine || !sim.instance(input.instanceId)) {
    return errorResponse(
      403,
      'TENANT_FORBIDDEN',
      "Only your own tenant's instance can be driven here; operators see every instance with npm run ops -- instances list",
    )
  }
  if (input.intent === 'state') {
    if (input.state === 'authorized') sim.authorize(input.instanceId)
    else if (input.state === 'starting') sim.starting(input.instanceId, 60_000)
    else sim.setState(input.instanceId, input.state)
    await sim.flushWebhooks()
  } else {
    const f = sim.fault({ instanceId: input.instanceId })
    if (input.fault === 'slow') f.slow(8_000)
    else if (input.fault === 'down') f.down(503)
    else if (input.fault === 'rateLimited') f.rateLimited(5)
    else f[input.fault]()
  }
  return redirect('/dev/simulator')
}

/** The page's words for a refused form (the envelope's message is for API clients). */
const REFUSALS: Record<string, string> = {
  TENANT_FORBIDDEN: 'Cette instance n’appartient pas à votre compte : rien n’a été changé.',
  VALIDATION_FAILED: 'Formulaire invalide : rien n’a été changé.',
}

export default function SimulatorControl() {
  const { instances } = useLoaderData<typeof loader>()
  // A refused POST without JavaScript re-renders this page with its 403/400 status and this line.
  const refused = useActionData<typeof action>()
  return (
    <main className="page">
      <p className="sim-banner" role="note">
        Simulateur Green-API — aucune donnée ne part vers WhatsApp.
      </p>
      <h1>Simulateur Green-API</h1>
      <p>
        Mettez l’instance de votre compte dans un état, ou injectez une panne, pour voir chaque état de l’interface. Les autres
        instances ne sont visibles que des opérateurs (<code>npm run ops -- instances list</code>).
      </p>
      {refused ? (
        <p role="alert" className="sim-refused">
          {REFUSALS[refused.error] ?? refused.message}
        </p>
      ) : null}
      {instances.length === 0 ? (
        <p role="status">
          Aucune instance pour votre compte : lancez une liaison depuis <Link to="/settings/whatsapp">Paramètres › WhatsApp</Link>
          , puis revenez ici.
        </p>
      ) : (
        <>
          <Form method="post">
            <input type="hidden" name="intent" value="clear" />
            <button type="submit">Supprimer les pannes de mon instance</button>
          </Form>
          <table className="sim-table">
            <caption>L’instance simulée de votre compte</caption>
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">État</th>
                <th scope="col">Téléphone</th>
                <th scope="col">Messages</th>
                <th scope="col">Changer l’état</th>
                <th scope="col">Panne</th>
              </tr>
            </thead>
            <tbody>
              {instances.map((i) => (
                <tr key={i.instanceId}>
                  <td>{i.instanceId}</td>
                  <td>{i.state ?? 'création…'}</td>
                  <td>{i.phone || '—'}</td>
                  <td>
                    {i.sent} envoyés, {i.queued} en file
                  </td>
                  <td>
                    <Form method="post" className="inline-form">
                      <input type="hidden" name="intent" value="state" />
                      <input type="hidden" name="instanceId" value={i.instanceId} />
                      <label>
                        <span className="visually-hidden">État de {i.instanceId}</span>
                        <select name="state" defaultValue={i.state ?? 'notAuthorized'}>
                          {STATES.map((s) => (
                            <option key={s}>{s}</option>
                          ))}
                        </select>
                      </label>
                      <button type="submit">Appliquer</button>
                    </Form>
                  </td>
                  <td>
                    <Form method="post" className="inline-form">
                      <input type="hidden" name="intent" value="fault" />
                      <input type="hidden" name="instanceId" value={i.instanceId} />
                      <label>
                        <span className="visually-hidden">Panne de {i.instanceId}</span>
                        <select name="fault">
                          {FAULTS.map((f) => (
                            <option key={f}>{f}</option>
                          ))}
                        </select>
                      </label>
                      <button type="submit">Injecter</button>
                    </Form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </main>
  )
}
