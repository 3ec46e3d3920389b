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

export function UnavailablePage(props: { lang: string; title: string; body: string; retry: string }) {
  return (
    <html lang={props.lang}>
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title}</title>
        <style>{'body{font-family:system-ui,sans-serif;margin:0}.page{max-width:640px;margin:0 auto;padding:48px 16px}'}</style>
      </head>
      <body>
        <UnavailableMessage {...props} />
      </body>
    </html>
  )
}
