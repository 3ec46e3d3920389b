import type { ActionFunctionArgs, LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { json, redirect } from '@remix-run/node'
import { Form, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import type { GreenApiSimulator } from '../../adapters/green-api/simulator'
import { getServices } from '~/services.server'
import { requirePageContext } from '~/utils/guards.server'

import simulatorStyles from '~/styles/simulator.css'

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: simulatorStyles }]

export const meta: MetaFunction = () => [{ title: 'Simulateur Green-API' }]

const STATES = ['authorized', 'notAuthorized', 'yellowCard', 'blocked', 'starting', 'sleepMode'] as const
const FAULTS = ['slow', 'down', 'rateLimited', 'quota466', 'garbage', 'wrongShape', 'nullState', 'reset'] as const

/** Simulator mode only; owners/admins only. Everything else is a 404 / the guard's answer. */
async function requireSimulator(request: Request): Promise<GreenApiSimulator> {
  const simulator = getServices().simulator
  if (!simulator) throw new Response('Not Found', { status: 404 })
  await requirePageContext(request, { mutating: true })
  return simulator
}

export async function loader({ request }: LoaderFunctionArgs) {
  const sim = await requireSimulator(request)
  // Never the tokens: only what a person needs to drive the UI states by hand.
  const instances = sim.listInstances().filter((i) => !i.deleted).map((i) => ({
    instanceId: i.instanceId,
    state: i.state,
    phone: i.phone ? `+${i.phone}` : '',
    webhook: Boolean(i.webhookUrl),
    pairingCode: i.pairingCode,
    sent: i.sent.length,
    queued: i.queued.length,
  }))
  return json({ instances })
}

const ActionSchema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('state'), instanceId: z.string().regex(/^\d+$/), state: z.enum(STATES) }),
  z.object({ intent: z.literal('fault'), instanceId: z.string().regex(/^\d*$/), fault: z.enum(FAULTS) }),
  z.object({ intent: z.literal('clear') }),
])

export async function action({ request }: ActionFunctionArgs) {
  const sim = await requireSimulator(request)
  const parsed = ActionSchema.safeParse(Object.fromEntries(await request.formData()))
  if (!parsed.success) return json({ error: 'invalid form' }, { status: 400 })
  const input = parsed.data
  if (input.intent === 'state') {
    if (input.state === 'authorized') sim.authorize(input.instanceId)
    else if (input.state === 'starting') sim.starting(input.instanceId, 60_000)
    else sim.setState(input.instanceId, input.state)
    await sim.flushWebhooks()
  } else if (input.intent === 'fault') {
    const scope = input.instanceId ? { instanceId: input.instanceId } : {}
    const f = sim.fault(scope)
    if (input.fault === 'slow') f.slow(8_000)
    else if (input.fault === 'down') f.down(503)
    else if (input.fault === 'rateLimited') f.rateLimited(5)
    else f[input.fault]()
  } else {
    sim.clearFaults()
  }
  return redirect('/dev/simulator')
}

export default function SimulatorControl() {
  const { instances } = useLoaderData<typeof loader>()
  return (
    <main className="page">
      <p className="sim-banner" role="note">
        Simulateur Green-API — aucune donnée ne part vers WhatsApp.
      </p>
      <h1>Simulateur Green-API</h1>
      <p>Mettez une instance dans un état, ou injectez une panne, pour voir chaque état de l’interface.</p>
      <Form method="post">
        <input type="hidden" name="intent" value="clear" />
        <button type="submit">Supprimer toutes les pannes</button>
      </Form>
      <table className="sim-table">
        <caption>Instances simulées</caption>
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
    </main>
  )
}
