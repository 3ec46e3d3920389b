import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { NextFunction, Request, Response } from 'express'
import helmet from 'helmet'

/**
 * Security headers on every response, and a nonce-based Content-Security-Policy on every
 * document (helmet, the way Epic Stack's server does it). Each response gets a fresh nonce in
 * `res.locals.cspNonce`; the load context hands it to app/entry.server.tsx, which puts it on the
 * inline scripts Remix renders. Nothing else may run: no inline handlers, no third-party origin.
 */
export function cspNonce(_req: Request, res: Response, next: NextFunction): void {
  res.locals.cspNonce = randomBytes(16).toString('base64')
  next()
}

/** Where app/utils/auth.server.ts's OAuth providers send the browser to sign in. */
const OAUTH_AUTHORIZATION_ORIGINS = ['https://accounts.google.com', 'https://login.microsoftonline.com', 'https://github.com']

const nonceSource = (_req: IncomingMessage, res: ServerResponse) => `'nonce-${(res as Response).locals.cspNonce as string}'`

export function securityHeaders({ development }: { development: boolean }) {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        'default-src': ["'self'"],
        // `npm run dev` reloads the page over remix dev's websocket (another port).
        'connect-src': development ? ["'self'", 'ws:'] : ["'self'"],
        // The QR code is a data: URL; nothing is hot-linked.
        'img-src': ["'self'", 'data:'],
        'script-src': ["'self'", "'strict-dynamic'", nonceSource],
        'script-src-attr': ["'none'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        // Browsers apply form-action to the redirect after a POST: "Se connecter avec Google" (a
        // form to /auth/google) ends at the provider's authorization page.
        'form-action': ["'self'", ...OAUTH_AUTHORIZATION_ORIGINS],
        'frame-ancestors': ["'none'"],
        'object-src': ["'none'"],
        'base-uri': ["'self'"],
        // Plain-HTTP localhost must keep working (development, the simulator, the tests).
        'upgrade-insecure-requests': null,
      },
    },
    // Green-API images are never embedded, but nothing needs COEP's isolation either.
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'same-origin' },
    frameguard: { action: 'deny' },
    // Over plain HTTP (localhost) browsers ignore it; behind TLS it pins HTTPS for a year.
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
  })
}

/**
 * The headers `securityHeaders` sets, computed once, for a response that is not a document
 * (an event stream, decision 250): the same set, with a Content-Security-Policy that allows
 * nothing instead of the per-response nonce (nothing in it runs). Written with one `writeHead`,
 * so no per-response header map is kept while the stream is open.
 */
export function staticSecurityHeaders({ development }: { development: boolean }): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {}
  const res = {
    locals: { cspNonce: '' },
    setHeader: (name: string, value: string) => void (headers[name] = String(value)),
    removeHeader: (name: string) => void delete headers[name],
  }
  let done = false
  securityHeaders({ development })({} as never, res as never, () => (done = true))
  if (!done) throw new Error('helmet did not answer synchronously')
  headers['Content-Security-Policy'] = "default-src 'none'; frame-ancestors 'none'"
  return Object.freeze(headers)
}
