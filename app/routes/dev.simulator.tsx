import type { ActionFunctionArgs, LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { json, redirect } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { ownInstanceOf, requireSimulator } from '../utils/dev-simulator.server'
import { errorResponse, validationFailed } from '../utils/http-errors.server'
import { t, type MessageKey } from '../utils/i18n'
import { getLang } from '../utils/lang.server'
import type { ErrorPageHandle } from '../root'

import simulatorStyles from '../styles/simulator.css'

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: simulatorStyles }]

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: t(data?.lang ?? 'fr', 'sim.title') }]

/**
 * A member (the page is for owners and admins) is told so by the root error page in the page's
 * language, not "an error occurred" (decisions 217, 255).
 */
export const handle: ErrorPageHandle = {
  forbidden: { lead: 'sim.forbidden.body', back: { to: '/settings/whatsapp', label: 'sim.forbidden.back' } },
}

const STATES = ['authorized', 'notAuthorized', 'yellowCard', 'blocked', 'starting', 'sleepMode'] as const
const FAULTS = ['slow', 'down', 'rateLimited', 'quota466', 'garbage', 'wrongShape', 'nullState', 'reset'] as const

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { sim, ctx } = await requireSimulator(request, context)
  const mine = await ownInstanceOf(ctx)
  // On the state every app process shares (decision 215).
  const view = mine ? await sim.shared(() => sim.instance(mine)) : null
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
  // After the incoming-message form (dev.simulator_.incoming.tsx) redirected here.
  const incoming = new URL(request.url).searchParams.get('incoming')
  const incomingSent = incoming === 'sent' ? 'sent' : incoming === 'unnotified' ? 'unnotified' : null
  return json({ lang: await getLang(request), instances, incomingSent })
}

const ActionSchema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('state'), instanceId: z.string().regex(/^\d+$/), state: z.enum(STATES) }),
  // Always one instance: a fault without one (the simulator's global scope) hits every tenant.
  z.object({ intent: z.literal('fault'), instanceId: z.string().regex(/^\d+$/), fault: z.enum(FAULTS) }),
  z.object({ intent: z.literal('clear') }),
])

export async function action({ request, context }: ActionFunctionArgs) {
  const { sim, ctx } = await requireSimulator(request, context)
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
  if (input.instanceId !== mine || !(await sim.shared(() => sim.instance(input.instanceId)))) {
    return errorResponse(
      403,
      'TENANT_FORBIDDEN',
      "Only your own tenant's instance can be driven here; operators see every instance with npm run ops -- instances list",
    )
  }
  if (input.intent === 'state') {
    const { instanceId, state } = input
    await sim.shared(() => {
      if (state === 'authorized') sim.authorize(instanceId)
      else if (state === 'starting') sim.starting(instanceId, 60_000)
      else sim.setState(instanceId, state)
    })
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
const REFUSALS: Record<string, MessageKey> = {
  TENANT_FORBIDDEN: 'sim.refused.forbidden',
  VALIDATION_FAILED: 'sim.refused.invalid',
  NOT_CONNECTED: 'sim.incoming.notLinked',
}

export default function SimulatorControl() {
  const { lang, instances, incomingSent } = useLoaderData<typeof loader>()
  // A refused POST without JavaScript re-renders this page with its 403/400 status and this line.
  const refused = useActionData<typeof action>()
  const refusal = refused ? REFUSALS[refused.error] : undefined
  return (
    <main className="page">
      <p className="sim-banner" role="note">
        {t(lang, 'sim.banner')}
      </p>
      <h1>{t(lang, 'sim.title')}</h1>
      <p>
        {t(lang, 'sim.lead')} (<code>npm run ops -- instances list</code>).
      </p>
      {refused ? (
        <p role="alert" className="sim-refused">
          {refusal ? t(lang, refusal) : refused.message}
        </p>
      ) : null}
      {incomingSent === 'sent' ? (
        <p role="status" className="sim-done">
          {t(lang, 'sim.incoming.sent')}
        </p>
      ) : incomingSent === 'unnotified' ? (
        <p role="status" className="sim-refused">
          {t(lang, 'sim.incoming.unnotified')}
        </p>
      ) : null}
      {instances.length === 0 ? (
        <p role="status">
          {t(lang, 'sim.none')} <Link to="/settings/whatsapp">{t(lang, 'sim.none.link')}</Link>
          {t(lang, 'sim.none.after')}
        </p>
      ) : (
        <>
          <Form method="post">
            <input type="hidden" name="intent" value="clear" />
            <button type="submit">{t(lang, 'sim.clear')}</button>
          </Form>
          <table className="sim-table">
            <caption>{t(lang, 'sim.caption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t(lang, 'sim.col.instance')}</th>
                <th scope="col">{t(lang, 'sim.col.state')}</th>
                <th scope="col">{t(lang, 'sim.col.phone')}</th>
                <th scope="col">{t(lang, 'sim.col.messages')}</th>
                <th scope="col">{t(lang, 'sim.col.setState')}</th>
                <th scope="col">{t(lang, 'sim.col.fault')}</th>
              </tr>
            </thead>
            <tbody>
              {instances.map((i) => (
                <tr key={i.instanceId}>
                  <td data-label={t(lang, 'sim.col.instance')}>{i.instanceId}</td>
                  <td data-label={t(lang, 'sim.col.state')}>{i.state ?? t(lang, 'sim.creating')}</td>
                  <td data-label={t(lang, 'sim.col.phone')}>{i.phone || '—'}</td>
                  <td data-label={t(lang, 'sim.col.messages')}>{t(lang, 'sim.messages', { sent: i.sent, queued: i.queued })}</td>
                  <td data-label={t(lang, 'sim.col.setState')}>
                    <Form method="post" className="inline-form">
                      <input type="hidden" name="intent" value="state" />
                      <input type="hidden" name="instanceId" value={i.instanceId} />
                      <label>
                        <span className="visually-hidden">{t(lang, 'sim.stateOf', { id: i.instanceId })}</span>
                        <select name="state" defaultValue={i.state ?? 'notAuthorized'}>
                          {STATES.map((s) => (
                            <option key={s}>{s}</option>
                          ))}
                        </select>
                      </label>
                      <button type="submit">{t(lang, 'sim.apply')}</button>
                    </Form>
                  </td>
                  <td data-label={t(lang, 'sim.col.fault')}>
                    <Form method="post" className="inline-form">
                      <input type="hidden" name="intent" value="fault" />
                      <input type="hidden" name="instanceId" value={i.instanceId} />
                      <label>
                        <span className="visually-hidden">{t(lang, 'sim.faultOf', { id: i.instanceId })}</span>
                        <select name="fault">
                          {FAULTS.map((f) => (
                            <option key={f}>{f}</option>
                          ))}
                        </select>
                      </label>
                      <button type="submit">{t(lang, 'sim.inject')}</button>
                    </Form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <section aria-labelledby="sim-incoming-title" className="sim-incoming">
            <h2 id="sim-incoming-title">{t(lang, 'sim.incoming.title')}</h2>
            <p>{t(lang, 'sim.incoming.lead')}</p>
            <Form method="post" action="/dev/simulator/incoming" className="sim-incoming-form">
              <label htmlFor="sim-incoming-from">{t(lang, 'sim.incoming.from')}</label>
              <input
                id="sim-incoming-from"
                name="from"
                type="tel"
                required
                autoComplete="off"
                defaultValue="+33698765432"
                aria-describedby="sim-incoming-from-hint"
              />
              <span id="sim-incoming-from-hint" className="hint">
                {t(lang, 'sim.incoming.fromHint')}
              </span>
              <label htmlFor="sim-incoming-text">{t(lang, 'sim.incoming.text')}</label>
              <textarea id="sim-incoming-text" name="text" required maxLength={4096} rows={3} />
              <button type="submit">{t(lang, 'sim.incoming.submit')}</button>
            </Form>
          </section>
        </>
      )}
    </main>
  )
}
