import { json, type LoaderFunctionArgs } from '@remix-run/node'
import type { ShouldRevalidateFunction } from '@remix-run/react'
import { Form, NavLink, Outlet, useLoaderData, useLocation } from '@remix-run/react'
import { getServices } from '../services.server'
import { pageUser, requirePageContext } from '../utils/guards.server'
import { LANGS, t } from '../utils/i18n'
import { getLang } from '../utils/lang.server'

// The settings shell: who is signed in, navigation, language switch, simulator banner.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const ctx = await requirePageContext(request, { context })
  const user = await pageUser(request, ctx)
  return json(
    {
      lang: await getLang(request),
      email: user.email,
      tenantId: ctx.tenantId,
      role: ctx.role,
      simulator: getServices().env.GREENAPI_MODE === 'simulator',
      // The simulator's control page in the navigation: not in production mode (decision 216).
      simulatorPage: getServices().env.GREENAPI_MODE === 'simulator' && getServices().env.NODE_ENV !== 'production',
    },
    { headers: { 'Cache-Control': 'no-store' } },
  )
}

// The shell's data (user, language) changes on a submission or a navigation, not when the
// WhatsApp panel re-reads its status (SSE / polling revalidations): skip those.
export const shouldRevalidate: ShouldRevalidateFunction = ({ formMethod, currentUrl, nextUrl, defaultShouldRevalidate }) =>
  formMethod !== undefined || currentUrl.href !== nextUrl.href ? defaultShouldRevalidate : false

export default function SettingsLayout() {
  const { lang, email, tenantId, role, simulator, simulatorPage } = useLoaderData<typeof loader>()
  const simulatorNav = simulatorPage && (role === 'owner' || role === 'admin')
  const location = useLocation()
  return (
    <div className="shell" lang={lang}>
      <a className="skip-link" href="#main-content">
        {t(lang, 'settings.skip')}
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <p className="brand">
            <span className="brand-mark" aria-hidden="true" />
            {t(lang, 'app.name')}
          </p>
          <nav aria-label={t(lang, 'settings.nav')} className="tabs">
            <NavLink to="/settings/whatsapp" className="tab" prefetch="intent">
              {t(lang, 'settings.nav.whatsapp')}
            </NavLink>
            <NavLink to="/settings/api-tokens" className="tab" prefetch="intent">
              {t(lang, 'settings.nav.apiTokens')}
            </NavLink>
            {role === 'owner' || role === 'admin' ? (
              <NavLink to="/settings/webhooks" className="tab" prefetch="intent">
                {t(lang, 'settings.nav.webhooks')}
              </NavLink>
            ) : null}
            {simulatorNav ? (
              // Simulator mode, owners and admins (the page's own guard): decision 216.
              <a href="/dev/simulator" className="tab">
                {t(lang, 'settings.nav.simulator')}
              </a>
            ) : null}
          </nav>
          <div className="topbar-tools">
            <Form method="post" action="/set-lang" className="lang-switch" aria-label={t(lang, 'settings.language')}>
              <input type="hidden" name="redirectTo" value={`${location.pathname}${location.search}`} />
              {LANGS.map((l) => (
                <button key={l} type="submit" name="lang" value={l} className="lang-btn" aria-pressed={l === lang} lang={l}>
                  {t(lang, `settings.language.${l}`)}
                </button>
              ))}
            </Form>
            <Form method="post" action="/logout">
              <button type="submit" className="btn btn-ghost">
                {t(lang, 'settings.logout')}
              </button>
            </Form>
          </div>
        </div>
      </header>
      {/* Every text sits in a landmark (screen readers list them): the banner is complementary
          information about the whole app, the "signed in as" line a labelled region. */}
      {simulator ? (
        <aside className="sim-banner" aria-label={t(lang, 'settings.simulatorLabel')}>
          <p>
            <strong>{t(lang, 'settings.simulatorLabel')}</strong> {t(lang, 'settings.simulator')}
          </p>
        </aside>
      ) : null}
      <div className="shell-content" id="main-content">
        <section className="whoami" aria-label={t(lang, 'settings.account')}>
          <p>{t(lang, 'settings.signedInAs', { email, role: t(lang, `settings.role.${role}`), tenant: tenantId })}</p>
        </section>
        <Outlet />
      </div>
    </div>
  )
}
