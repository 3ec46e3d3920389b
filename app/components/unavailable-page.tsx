/** "Temporarily unavailable" (503): rendered without scripts by entry.server, and by the root ErrorBoundary. */
export function UnavailableMessage({ title, body, retry }: { title: string; body: string; retry: string }) {
  return (
    <main className="page" data-unavailable="true">
      <h1>{title}</h1>
      <p>{body}</p>
      <p>
        <a href="">{retry}</a>
      </p>
    </main>
  )
}

/** `stylesHref`: the app's stylesheet (same origin, so a strict Content-Security-Policy allows it; no inline style). */
export function UnavailablePage(props: { lang: string; title: string; body: string; retry: string; stylesHref: string }) {
  return (
    <html lang={props.lang}>
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title}</title>
        <link rel="stylesheet" href={props.stylesHref} />
      </head>
      <body>
        <UnavailableMessage {...props} />
      </body>
    </html>
  )
}
