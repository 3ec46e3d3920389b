import {
  json,
  redirect,
  type ActionFunctionArgs,
  type LinksFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from '@remix-run/node'
import { Form, useLoaderData } from '@remix-run/react'
import { getServices } from '../services.server'
import { audit, clientIp } from '../utils/auth.server'
import { appOrigin, isSameOriginRequest } from '../utils/csrf.server'
import { csrfRejected } from '../utils/http-errors.server'
import { t } from '../utils/i18n'
import { getLang } from '../utils/lang.server'
import { endSession } from '../utils/session.server'
import authStyles from '../styles/auth.css'

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: String(authStyles) }]

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${t(data?.lang ?? 'fr', 'logout.title')} · WhatsApp Pro` },
]

// GET shows a confirmation (GET never changes state); POST revokes the session server-side.
export async function loader({ request }: LoaderFunctionArgs) {
  return json({ lang: await getLang(request) })
}

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = getServices().auth
  if (!isSameOriginRequest(request, appOrigin(request, auth.env.PUBLIC_URL))) throw csrfRejected()
  const { setCookie, userId } = await endSession(auth.sessions, request)
  if (userId) {
    await audit(auth, {
      actor: `user:${userId}`,
      tenantId: null,
      action: 'auth.logout',
      outcome: 'success',
      ip: clientIp(context),
    })
  }
  return redirect('/login', { headers: { 'Set-Cookie': setCookie, 'Cache-Control': 'no-store' } })
}

export default function Logout() {
  const { lang } = useLoaderData<typeof loader>()
  return (
    <main className="auth-page" lang={lang}>
      <div className="auth-card">
        <h1>{t(lang, 'logout.title')}</h1>
        <p className="lead">{t(lang, 'logout.lead')}</p>
        <Form method="post">
          <button type="submit" className="btn btn-primary btn-block">
            {t(lang, 'settings.logout')}
          </button>
        </Form>
      </div>
    </main>
  )
}
