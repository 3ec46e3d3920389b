import {
  json,
  redirect,
  type ActionFunctionArgs,
  type HeadersFunction,
  type LinksFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from '@remix-run/node'
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { getServices } from '../services.server'
import { LoginFailure, audit, authenticatorFor, clientIp } from '../utils/auth.server'
import { appOrigin, isSameOriginRequest } from '../utils/csrf.server'
import { optionalUser } from '../utils/guards.server'
import { csrfRejected } from '../utils/http-errors.server'
import { t } from '../utils/i18n'
import { inSecondsWords } from '../utils/words'
import { getLang } from '../utils/lang.server'
import { safeRedirect } from '../utils/safe-redirect'
import { rotateSession } from '../utils/session.server'
import authStyles from '../styles/auth.css'

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: String(authStyles) }]

/** Document responses keep the action's/loader's headers (no-store; Retry-After when throttled). */
export const headers: HeadersFunction = ({ actionHeaders, loaderHeaders }) => {
  const out = new Headers({ 'Cache-Control': 'no-store' })
  const retry = actionHeaders.get('Retry-After')
  if (retry) out.set('Retry-After', retry)
  for (const cookie of loaderHeaders.getSetCookie()) out.append('Set-Cookie', cookie)
  return out
}

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${t(data?.lang ?? 'fr', 'login.title')} · WhatsApp Pro` },
]

export async function loader({ request }: LoaderFunctionArgs) {
  const url = new URL(request.url)
  const redirectTo = safeRedirect(url.searchParams.get('redirectTo'))
  if (await optionalUser(request)) throw redirect(redirectTo)
  const lang = await getLang(request)
  const providers = getServices().auth.oauth.providers.map((p) => ({ id: p.id, label: p.label }))
  const error = url.searchParams.get('error')
  return json(
    {
      lang,
      redirectTo,
      providers,
      error:
        error === 'oauth' ? t(lang, 'login.oauthFailed') : error === 'oauth_account' ? t(lang, 'login.oauthNoAccount') : null,
    },
    { headers: { 'Cache-Control': 'no-store' } },
  )
}

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = getServices().auth
  // Login CSRF: a cross-site form must not sign the victim into the attacker's account.
  if (!isSameOriginRequest(request, appOrigin(request, auth.env.PUBLIC_URL))) throw csrfRejected()
  const lang = await getLang(request)
  const ip = clientIp(context)
  const form = await request.clone().formData()
  const redirectTo = safeRedirect(form.get('redirectTo'))
  try {
    const user = await authenticatorFor(auth, request, ip).authenticate('password', request)
    const setCookie = await rotateSession(auth.sessions, request, { userId: user.id, ip })
    await audit(auth, {
      actor: `user:${user.id}`,
      tenantId: null,
      action: 'auth.login',
      outcome: 'success',
      ip,
      details: { method: 'password' },
    })
    return redirect(redirectTo, { headers: { 'Set-Cookie': setCookie, 'Cache-Control': 'no-store' } })
  } catch (error) {
    if (error instanceof LoginFailure) {
      const throttled = error.reason === 'throttled'
      return json(
        {
          error: throttled
            ? t(lang, 'login.throttled', { when: inSecondsWords(lang, error.retryAfterSeconds) })
            : t(lang, 'login.invalid'),
        },
        {
          status: throttled ? 429 : 401,
          headers: throttled
            ? { 'Retry-After': String(error.retryAfterSeconds), 'Cache-Control': 'no-store' }
            : { 'Cache-Control': 'no-store' },
        },
      )
    }
    throw error
  }
}

export default function Login() {
  const { lang, redirectTo, providers, error } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  const navigation = useNavigation()
  const message = actionData?.error ?? error
  const busy = navigation.state === 'submitting' && navigation.formAction?.startsWith('/login') === true
  return (
    <main className="auth-page" lang={lang}>
      <div className="auth-card">
        <h1>{t(lang, 'login.title')}</h1>
        <p className="lead">{t(lang, 'login.lead')}</p>
        {message ? (
          <p className="alert alert-error" role="alert" id="login-error">
            {message}
          </p>
        ) : null}
        <Form method="post" replace aria-describedby={message ? 'login-error' : undefined}>
          <input type="hidden" name="redirectTo" value={redirectTo} />
          <div className="field">
            <label htmlFor="email">{t(lang, 'login.email')}</label>
            <input id="email" name="email" type="email" autoComplete="username" required maxLength={254} autoFocus />
          </div>
          <div className="field">
            <label htmlFor="password">{t(lang, 'login.password')}</label>
            <input id="password" name="password" type="password" autoComplete="current-password" required maxLength={1024} />
          </div>
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {busy ? t(lang, 'login.submitting') : t(lang, 'login.submit')}
          </button>
        </Form>
        {providers.length > 0 ? (
          <>
            <div className="divider">{t(lang, 'login.or')}</div>
            <ul className="oauth-list">
              {providers.map((p) => (
                <li key={p.id}>
                  <form method="post" action={`/auth/${p.id}`}>
                    <input type="hidden" name="redirectTo" value={redirectTo} />
                    <button type="submit" className="btn btn-secondary btn-block">
                      {t(lang, 'login.with', { provider: p.label })}
                    </button>
                  </form>
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </div>
    </main>
  )
}
