import {
  json,
  redirect,
  type ActionFunctionArgs,
  type LinksFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from '@remix-run/node'
import { Form, useLoaderData, useOutlet } from '@remix-run/react'
import { getServices } from '../services.server'
import { authenticatorFor, clientIp, isOAuthProvider, oauthNextCookie, sha256Hex } from '../utils/auth.server'
import { appOrigin, isSameOriginRequest } from '../utils/csrf.server'
import { csrfRejected } from '../utils/http-errors.server'
import { t } from '../utils/i18n'
import { getLang } from '../utils/lang.server'
import { safeRedirect } from '../utils/safe-redirect'
import authStyles from '../styles/auth.css'

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: String(authStyles) }]

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${t(data?.lang ?? 'fr', 'login.title')} · WhatsApp Pro` },
]

/**
 * POST /auth/:provider starts an OAuth sign-in (remix-auth-oauth2 / arctic: state + PKCE S256
 * in a `__Host-` cookie of 10 minutes). The state's hash is recorded server-side so the callback
 * can accept it once and only within 10 minutes. GET only shows a "continue" button: a
 * navigation never starts a flow by itself. This route is also the parent of the callback route
 * (flat-routes nesting): its loader only reads, and its component yields to the outlet.
 */
export async function action({ request, params, context }: ActionFunctionArgs) {
  const auth = getServices().auth
  if (!isOAuthProvider(auth, params.provider)) throw new Response('Not found', { status: 404 })
  if (!isSameOriginRequest(request, appOrigin(request, auth.env.PUBLIC_URL))) throw csrfRejected()
  const form = await request.formData()
  const next = safeRedirect(form.get('redirectTo'))
  // A clean request: the strategy must see no `state` query (that would mean "callback").
  const start = new Request(new URL(`/auth/${params.provider}`, appOrigin(request, auth.env.PUBLIC_URL)), {
    headers: request.headers,
  })
  try {
    await authenticatorFor(auth, start, clientIp(context)).authenticate(params.provider, start)
  } catch (thrown) {
    if (thrown instanceof Response && thrown.status >= 300 && thrown.status < 400) {
      const location = thrown.headers.get('Location') ?? ''
      const state = new URL(location).searchParams.get('state')
      if (!state) throw new Response('OAuth start failed', { status: 500 })
      await auth.oauthStates.issue(sha256Hex(state))
      const headers = new Headers({ 'Cache-Control': 'no-store' })
      for (const cookie of thrown.headers.getSetCookie()) headers.append('Set-Cookie', cookie)
      headers.append('Set-Cookie', await oauthNextCookie.serialize(next))
      return redirect(location, { headers })
    }
    throw thrown
  }
  throw new Response('OAuth start failed', { status: 500 })
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  const auth = getServices().auth
  if (!isOAuthProvider(auth, params.provider)) throw new Response('Not found', { status: 404 })
  const label = auth.oauth.providers.find((p) => p.id === params.provider)?.label ?? ''
  return json({
    lang: await getLang(request),
    label,
    redirectTo: safeRedirect(new URL(request.url).searchParams.get('redirectTo')),
  })
}

export default function OAuthStart() {
  const outlet = useOutlet()
  const data = useLoaderData<typeof loader>()
  if (outlet) return outlet
  return (
    <main className="auth-page" lang={data.lang}>
      <div className="auth-card">
        <h1>{t(data.lang, 'login.title')}</h1>
        <Form method="post" reloadDocument>
          <input type="hidden" name="redirectTo" value={data.redirectTo} />
          <button type="submit" className="btn btn-primary btn-block">
            {t(data.lang, 'login.with', { provider: data.label })}
          </button>
        </Form>
      </div>
    </main>
  )
}
