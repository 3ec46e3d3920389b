import type { LoaderFunctionArgs } from '@remix-run/node'

const escapeAttribute = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')

// GET /api/docs — the human API reference: Swagger UI (swagger-ui-dist, self-hosted under
// /api/docs/assets by server/api-docs-assets.ts) reading GET /api/openapi.json. Its scripts
// carry this response's CSP nonce (server/security-headers.ts: 'strict-dynamic' ignores 'self',
// so an un-nonced <script src> would not run either).
export function loader({ context }: LoaderFunctionArgs) {
  const nonce = escapeAttribute(typeof context.cspNonce === 'string' ? context.cspNonce : '')
  const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>WhatsApp Pro API reference</title>
    <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
    <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui" data-url="/api/openapi.json"></div>
    <script nonce="${nonce}" src="/api/docs/assets/swagger-ui-bundle.js"></script>
    <script nonce="${nonce}" src="/api-docs/init.js"></script>
  </body>
</html>
`
  // The nonce is per response: never serve this body from a cache under another CSP header.
  return new Response(html, { headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' } })
}
