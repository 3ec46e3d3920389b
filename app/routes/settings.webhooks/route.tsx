import type { ActionFunctionArgs, HeadersFunction, LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { t, type Lang, type MessageKey } from '../../utils/i18n'
import authStyles from '../../styles/auth.css'
import { WEBHOOK_INTENTS, type WebhookActionResult } from './intents'
import { webhooksPageAction, webhooksPageLoader } from './page.server'

// /settings/webhooks — the CRM endpoints that receive signed events (owners/admins), without
// JavaScript: plain forms, one `intent` each; the secret is shown once, in the action's answer.
export const loader = (args: LoaderFunctionArgs) => webhooksPageLoader(args)
export const action = (args: ActionFunctionArgs) => webhooksPageAction(args)

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: String(authStyles) }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })
export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${t(data?.lang ?? 'fr', 'hooks.title')} · ${t(data?.lang ?? 'fr', 'settings.title')}` },
]

const EVENT_TEXT: Record<string, MessageKey> = {
  'whatsapp.connection.updated': 'hooks.event.connection',
  'whatsapp.message.updated': 'hooks.event.messageUpdated',
  'whatsapp.message.received': 'hooks.event.messageReceived',
}
const STATUS_TEXT: Record<string, MessageKey> = {
  pending: 'hooks.delivery.pending',
  succeeded: 'hooks.delivery.succeeded',
  failed: 'hooks.delivery.failed',
  exhausted: 'hooks.delivery.exhausted',
}

function when(iso: string | undefined, lang: Lang): string {
  if (!iso) return '—'
  return (
    new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'fr-FR', {
      dateStyle: 'short',
      timeStyle: 'medium',
      timeZone: 'UTC',
    }).format(new Date(iso)) + ' UTC'
  )
}

function SecretOnce({ result, tr }: { result: Extract<WebhookActionResult, { secret: string }>; tr: (k: MessageKey) => string }) {
  return (
    <div className="card" role="status">
      <p className="alert alert-success">{tr(result.intent === 'create' ? 'hooks.created' : 'hooks.rotated')}</p>
      <div className="field">
        <label htmlFor="webhook-secret">{tr('hooks.secretLabel')}</label>
        <div className="token-once">
          <input id="webhook-secret" readOnly value={result.secret} spellCheck={false} autoFocus />
        </div>
        <span className="muted">{tr('hooks.secretHint')}</span>
      </div>
    </div>
  )
}

export default function WebhookSettings() {
  const { lang, enabled, eventTypes, endpoints } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const tr = (key: MessageKey, vars?: Record<string, string | number>) => t(lang, key, vars)
  return (
    <main lang={lang}>
      <div className="page-header">
        <h1>{tr('hooks.title')}</h1>
      </div>
      <p className="muted">{tr('hooks.lead')}</p>

      {result && result.ok && 'secret' in result ? <SecretOnce result={result} tr={tr} /> : null}
      {result && result.ok && result.intent === 'delete' ? (
        <p className="alert alert-success" role="status">
          {tr('hooks.deleted')}
        </p>
      ) : null}
      {result && result.ok && result.intent === 'resend' ? (
        <p className="alert alert-success" role="status">
          {tr('hooks.resent')}
        </p>
      ) : null}
      {result && !result.ok ? (
        <div className="alert alert-error" role="alert">
          <p>{result.message}</p>
          {result.issues?.length ? (
            <ul>
              {result.issues.map((i) => (
                <li key={`${i.path}:${i.message}`}>{i.message}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}

      {!enabled ? (
        <p className="alert alert-error">{tr('hooks.disabledFeature')}</p>
      ) : (
        <>
          <section className="card" aria-labelledby="create-title">
            <h2 id="create-title">{tr('hooks.createTitle')}</h2>
            <Form method="post">
              <input type="hidden" name="intent" value={WEBHOOK_INTENTS.create} />
              <div className="field">
                <label htmlFor="webhook-url">{tr('hooks.url')}</label>
                <input
                  id="webhook-url"
                  name="url"
                  type="url"
                  required
                  maxLength={2048}
                  placeholder="https://crm.example.com/hooks/whatsapp"
                />
              </div>
              <fieldset className="field">
                <legend>{tr('hooks.events')}</legend>
                {eventTypes.map((type) => (
                  <label key={type} className="checkbox">
                    <input type="checkbox" name="events" value={type} /> {tr(EVENT_TEXT[type]!)} <code>{type}</code>
                  </label>
                ))}
                <span className="muted">{tr('hooks.eventsHint')}</span>
              </fieldset>
              <button type="submit" className="btn btn-primary">
                {tr('hooks.create')}
              </button>
            </Form>
          </section>

          <section aria-labelledby="list-title">
            <h2 id="list-title">{tr('hooks.listTitle')}</h2>
            {endpoints.length === 0 ? <p className="muted">{tr('hooks.none')}</p> : null}
            {endpoints.map((e) => (
              <article key={e.id} className="card" aria-label={e.url}>
                <h3>
                  <code>{e.url}</code> <span className="badge">{e.enabled ? tr('hooks.enabled') : tr('hooks.disabled')}</span>
                </h3>
                {!e.enabled ? (
                  <p className="alert alert-error">
                    {tr(e.disabledReason === 'retries_exhausted' ? 'hooks.disabledExhausted' : 'hooks.disabledOther', {
                      at: when(e.disabledAt, lang),
                    })}
                  </p>
                ) : null}
                <p className="muted">
                  {tr('hooks.receives')}{' '}
                  {e.allEvents ? tr('hooks.allEvents') : e.events.map((x) => tr(EVENT_TEXT[x]!)).join(', ')}
                </p>
                <div className="form-row">
                  <Form method="post">
                    <input type="hidden" name="intent" value={WEBHOOK_INTENTS.rotate} />
                    <input type="hidden" name="endpointId" value={e.id} />
                    <button type="submit" className="btn btn-secondary">
                      {tr('hooks.rotate')}
                    </button>
                  </Form>
                  <Form method="post">
                    <input type="hidden" name="intent" value={WEBHOOK_INTENTS.remove} />
                    <input type="hidden" name="endpointId" value={e.id} />
                    <button type="submit" className="btn btn-ghost">
                      {tr('hooks.delete')}
                    </button>
                  </Form>
                </div>
                <h4>{tr('hooks.deliveries')}</h4>
                {e.deliveries.length === 0 ? (
                  <p className="muted">{tr('hooks.noDeliveries')}</p>
                ) : (
                  <table className="token-table">
                    <thead>
                      <tr>
                        <th scope="col">{tr('hooks.col.event')}</th>
                        <th scope="col">{tr('hooks.col.status')}</th>
                        <th scope="col">{tr('hooks.col.last')}</th>
                        <th scope="col">{tr('hooks.col.next')}</th>
                        <th scope="col">—</th>
                      </tr>
                    </thead>
                    <tbody>
                      {e.deliveries.map((d) => {
                        const last = d.attemptLog[0]
                        return (
                          <tr key={d.id}>
                            <td data-label={tr('hooks.col.event')}>
                              {tr(EVENT_TEXT[d.eventType]!)} <code>{d.eventId}</code>
                            </td>
                            <td data-label={tr('hooks.col.status')}>
                              <span className="badge">{tr(STATUS_TEXT[d.status]!)}</span>{' '}
                              {tr('hooks.attempts', { count: d.attempts })}
                            </td>
                            <td data-label={tr('hooks.col.last')}>
                              {last
                                ? `${when(last.at, lang)} · ${last.httpStatus ?? last.error ?? '—'} · ${last.durationMs} ms`
                                : '—'}
                            </td>
                            <td data-label={tr('hooks.col.next')}>{when(d.nextAttemptAt, lang)}</td>
                            <td>
                              <Form method="post">
                                <input type="hidden" name="intent" value={WEBHOOK_INTENTS.resend} />
                                <input type="hidden" name="deliveryId" value={d.id} />
                                <button type="submit" className="btn btn-secondary">
                                  {tr('hooks.resend')}
                                </button>
                              </Form>
                            </td>
                          </tr>
                        )
                      })}
                    </tbody>
                  </table>
                )}
              </article>
            ))}
          </section>
        </>
      )}
    </main>
  )
}
