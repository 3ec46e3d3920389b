import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { t } from '../utils/i18n'
import { getLang } from '../utils/lang.server'

export const meta: MetaFunction = () => [{ title: 'WhatsApp Pro' }]

export async function loader({ request }: LoaderFunctionArgs) {
  return json({ lang: await getLang(request) })
}

export default function Index() {
  const { lang } = useLoaderData<typeof loader>()
  return (
    <main className="landing" lang={lang}>
      <div className="landing-card">
        <p className="brand">
          <span className="brand-mark" aria-hidden="true" />
          {t(lang, 'app.name')}
        </p>
        <h1>WhatsApp Pro</h1>
        <p className="muted">{t(lang, 'home.lead')}</p>
        <Link className="btn btn-primary" to="/settings/whatsapp">
          {t(lang, 'home.cta')}
        </Link>
      </div>
    </main>
  )
}
