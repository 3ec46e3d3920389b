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
import { isLang, t, type Lang, type MessageKey } from './utils/i18n'
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

/**
 * A route's words for a 403 on its page (`export const handle: ErrorPageHandle`), instead of the
 * generic "not allowed" lead and the link home: the simulator says it is for owners and admins.
 */
export interface ErrorPageHandle {
  forbidden?: { lead: MessageKey; back: { to: string; label: MessageKey } }
}

type ErrorPage =
  | { kind: 'unavailable'; title: string; body: string; retry: string }
  | { kind: 'error'; title: string; lead: string; back: { to: string; label: string } }

/**
 * What the error page says, or null when no error is shown. The root boundary renders it and
 * the Layout's <title> names it (a route's `meta` runs without the request's language when its
 * loader failed, and no route's runs for a URL none matches): decision 255.
 */
function useErrorPage(): ErrorPage | null {
  // Inside the root's error element (Layout and ErrorBoundary): the error; elsewhere null.
  const error = useRouteError()
  const lang = usePageLang()
  const matches = useMatches()
  if (error == null) return null
  // PostgreSQL unavailable during a client-side navigation (app/utils/unavailable.server.ts).
  if (
    isRouteErrorResponse(error) &&
    error.status === 503 &&
    (error.data as { unavailable?: unknown } | null)?.unavailable === true
  ) {
    return { kind: 'unavailable', ...(error.data as { title: string; body: string; retry: string }) }
  }
  const status = isRouteErrorResponse(error) ? error.status : 500
  const home = { to: '/', label: t(lang, 'error.home') }
  if (status === 404) return { kind: 'error', title: t(lang, 'error.notFound'), lead: t(lang, 'error.notFound.lead'), back: home }
  if (status === 403) {
    const own = matches
      .map((m) => (m.handle as ErrorPageHandle | undefined)?.forbidden)
      .filter(Boolean)
      .pop()
    return {
      kind: 'error',
      title: t(lang, 'error.forbidden'),
      lead: t(lang, own?.lead ?? 'error.forbidden.lead'),
      back: own ? { to: own.back.to, label: t(lang, own.back.label) } : home,
    }
  }
  return { kind: 'error', title: t(lang, 'error.unexpected'), lead: t(lang, 'error.unexpected.lead'), back: home }
}

export function Layout({ children }: { children: React.ReactNode }) {
  const lang = usePageLang()
  const nonce = useNonce()
  const liveReload = useLiveReload()
  const errorPage = useErrorPage()
  return (
    <html lang={lang}>
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        {errorPage ? <title>{`${errorPage.title} · ${t(lang, 'app.name')}`}</title> : null}
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
  const page = useErrorPage()
  const lang = usePageLang()
  if (page?.kind === 'unavailable') return <UnavailableMessage title={page.title} body={page.body} retry={page.retry} />
  // Never the error's message or stack: a user reads what happened and where to go.
  const words = page ?? {
    title: t(lang, 'error.unexpected'),
    lead: t(lang, 'error.unexpected.lead'),
    back: { to: '/', label: t(lang, 'error.home') },
  }
  return (
    <main className="page" lang={lang}>
      <h1>{words.title}</h1>
      <p>{words.lead}</p>
      <p>
        <a href={words.back.to}>{words.back.label}</a>
      </p>
    </main>
  )
}
