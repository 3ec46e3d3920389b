import type { LinksFunction } from '@remix-run/node'
import {
  Links,
  LiveReload,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  isRouteErrorResponse,
  useMatches,
  useRouteError,
} from '@remix-run/react'
import { UnavailableMessage } from './components/unavailable-page'
import stylesHref from './styles/app.css'
import { isLang, t, type Lang } from './utils/i18n'
import { useDocumentLang, useLiveReload, useNonce } from './utils/nonce-provider'

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: stylesHref },
  { rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
]

/** The page language: the deepest route that says it (loaders return `lang`), else the request's. */
function usePageLang(): Lang {
  const requested = useDocumentLang()
  const chosen = useMatches()
    .map((m) => (m.data as { lang?: unknown } | undefined)?.lang)
    .filter(isLang)
    .pop()
  return chosen ?? requested
}

export function Layout({ children }: { children: React.ReactNode }) {
  const lang = usePageLang()
  const nonce = useNonce()
  const liveReload = useLiveReload()
  return (
    <html lang={lang}>
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
        {/* Only under `npm run dev`: reloads the page after a rebuild. */}
        {liveReload ? <LiveReload nonce={nonce} /> : null}
      </body>
    </html>
  )
}

export default function App() {
  return <Outlet />
}

export function ErrorBoundary() {
  const error = useRouteError()
  const lang = usePageLang()
  // PostgreSQL unavailable during a client-side navigation (app/utils/unavailable.server.ts).
  if (
    isRouteErrorResponse(error) &&
    error.status === 503 &&
    (error.data as { unavailable?: unknown } | null)?.unavailable === true
  ) {
    return <UnavailableMessage {...(error.data as { title: string; body: string; retry: string })} />
  }
  const status = isRouteErrorResponse(error) ? error.status : 500
  // Never the error's message or stack: a user reads what happened and where to go.
  return (
    <main className="page" lang={lang}>
      <h1>{t(lang, status === 404 ? 'error.notFound' : 'error.unexpected')}</h1>
      <p>{t(lang, status === 404 ? 'error.notFound.lead' : 'error.unexpected.lead')}</p>
      <p>
        <a href="/">{t(lang, 'error.home')}</a>
      </p>
    </main>
  )
}
