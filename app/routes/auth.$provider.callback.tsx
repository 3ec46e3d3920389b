import { json, redirect, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { getServices } from '../services.server'
import {
  OAUTH_STATE_COOKIE,
  OAUTH_STATE_MAX_AGE_SECONDS,
  OAuthLoginFailure,
  audit,
  authenticatorFor,
  clientIp,
  isOAuthProvider,
  oauthNextCookie,
  sha256Hex,
} from '../utils/auth.server'
import { t } from '../utils/i18n'
import { getLang } from '../utils/lang.server'
import { safeRedirect } from '../utils/safe-redirect'
import { cookieNames, rawHostCookie, rotateSession } from '../utils/session.server'

/** The 400 page must still clear the OAuth cookies (document responses use this function). */
export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${t(data?.lang ?? 'fr', 'login.failedTitle')} · WhatsApp Pro` },
]

export const headers: HeadersFunction = ({ loaderHeaders }) => {
  const out = new Headers({ 'Cache-Control': 'no-store' })
  for (const cookie of loaderHeaders.getSetCookie()) out.append('Set-Cookie', cookie)
  return out
}

/**
 * GET /auth/:provider/callback: the state must be one we issued, unused and < 10 minutes old
 * (consumed server-side BEFORE the code exchange, so a replay never reaches the provider), must
 * match the state cookie (remix-auth-oauth2), and the provider must vouch for the e-mail
 * (verified) of an EXISTING user. Any failure: 400, no session, state cookies cleared.
 */
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const auth = getServices().auth
  const provider = params.provider
  if (!isOAuthProvider(auth, provider)) throw new Response('Not found', { status: 404 })
  const ip = clientIp(context)
  const lang = await getLang(request)
  const headers = new Headers({ 'Cache-Control': 'no-store' })
  for (const name of cookieNames(request, `${OAUTH_STATE_COOKIE}:`)) headers.append('Set-Cookie', rawHostCookie(name, '', 0))
  headers.append('Set-Cookie', await oauthNextCookie.serialize('', { maxAge: 0 }))

  const fail = async (reason: string) => {
    await audit(auth, {
      actor: 'anonymous',
      tenantId: null,
      action: 'auth.login',
      outcome: 'failure',
      ip,
      details: { method: 'oauth', provider, reason },
    })
    const message =
      reason === 'no_account' || reason === 'unverified_email' ? t(lang, 'login.oauthNoAccount') : t(lang, 'login.oauthFailed')
    return json({ lang, message }, { status: 400, headers })
  }

  const state = new URL(request.url).searchParams.get('state')
  if (!state || state.length > 256) return fail('missing_state')
  if (!(await auth.oauthStates.consume(sha256Hex(state), OAUTH_STATE_MAX_AGE_SECONDS)))
    return fail('state_unknown_used_or_expired')

  let user
  try {
    user = await authenticatorFor(auth, request, ip).authenticate(provider, request)
  } catch (error) {
    const reason =
      error instanceof OAuthLoginFailure
        ? error.reason
        : error instanceof RangeError
          ? 'state_mismatch'
          : error instanceof ReferenceError
            ? 'missing_state_cookie_or_code'
            : 'provider_error'
    return fail(reason)
  }

  headers.append('Set-Cookie', await rotateSession(auth.sessions, request, { userId: user.id, ip }))
  await audit(auth, {
    actor: `user:${user.id}`,
    tenantId: null,
    action: 'auth.login',
    outcome: 'success',
    ip,
    details: { method: 'oauth', provider },
  })
  const next: unknown = await oauthNextCookie.parse(request.headers.get('cookie'))
  return redirect(safeRedirect(typeof next === 'string' ? next : null), { headers })
}

export default function OAuthCallbackFailed() {
  const { lang, message } = useLoaderData<typeof loader>()
  return (
    <main className="auth-page" lang={lang}>
      <div className="auth-card">
        <h1>{t(lang, 'login.failedTitle')}</h1>
        <p className="alert alert-error" role="alert">
          {message}
        </p>
        <Link className="btn btn-primary btn-block" to="/login">
          {t(lang, 'login.back')}
        </Link>
      </div>
    </main>
  )
}
