import type { LinksFunction } from '@remix-run/node'
import { Links, LiveReload, Meta, Outlet, Scripts, ScrollRestoration, isRouteErrorResponse, useMatches, useRouteError } from '@remix-run/react'
import { UnavailableMessage } from './components/unavailable-page'
import stylesHref from './styles/app.css'
import { useLiveReload, useNonce } from './utils/nonce-provider'

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: stylesHref },
  { rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
]

export function Layout({ children }: { children: React.ReactNode }) {
  // The page language comes from the deepest route that says it (loaders return `lang`).
  const lang = useMatches()
    .map((m) => (m.data as { lang?: unknown } | undefined)?.lang)
    .filter((l) => l === 'fr' || l === 'en')
    .pop()
  const nonce = useNonce()
  const liveReload = useLiveReload()
  return (
    <html lang={typeof lang === 'string' ? lang : 'fr'}>
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
  // PostgreSQL unavailable during a client-side navigation (app/utils/unavailable.server.ts).
  if (isRouteErrorResponse(error) && error.status === 503 && (error.data as { unavailable?: unknown } | null)?.unavailable === true) {
    return <UnavailableMessage {...(error.data as { title: string; body: string; retry: string })} />
  }
  const status = isRouteErrorResponse(error) ? error.status : 500
  return (
    <main className="page">
      <h1>{status === 404 ? 'Page introuvable' : 'Une erreur est survenue'}</h1>
      <p>
        <a href="/">Retour à l’accueil</a>
      </p>
    </main>
  )
}
