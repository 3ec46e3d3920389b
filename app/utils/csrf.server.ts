/**
 * CSRF for cookie-authenticated requests (docs/security.md#authentication-and-sessions): a non-GET request must come from the app's
 * own origin. `Origin`, when sent, must equal it; without `Origin`, `Sec-Fetch-Site` must say
 * `same-origin`. Anything else (no header at all, `null`, a sibling subdomain, another port)
 * is refused. Bearer-authenticated API calls are not subject to this (no ambient credential).
 */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

const isSafeMethod = (request: Request): boolean => SAFE_METHODS.has(request.method.toUpperCase())

/** The app's origin: PUBLIC_URL when configured, else the origin the request was addressed to. */
export function appOrigin(request: Request, publicUrl?: string | undefined): string {
  return new URL(publicUrl ?? request.url).origin
}

/** Where an unsafe request says it comes from; `unknown` when it sends neither header. */
export type RequestSite = 'same-origin' | 'cross-site' | 'unknown'

/**
 * The one reading of `Origin` / `Sec-Fetch-Site`, used by the express backstop (refuses
 * `cross-site`) and by the guards (require `same-origin`). `Origin: null` and any other origin
 * are cross-site; so is a request whose fetch metadata says `cross-site`, whatever its Origin.
 */
export function requestSite(headers: { origin: string | null; secFetchSite: string | null }, appOrigin: string): RequestSite {
  if (headers.secFetchSite === 'cross-site') return 'cross-site'
  if (headers.origin !== null) return headers.origin === appOrigin ? 'same-origin' : 'cross-site'
  return headers.secFetchSite === 'same-origin' ? 'same-origin' : 'unknown'
}

export function isSameOriginRequest(request: Request, origin: string): boolean {
  if (isSafeMethod(request)) return true
  const site = requestSite({ origin: request.headers.get('origin'), secFetchSite: request.headers.get('sec-fetch-site') }, origin)
  return site === 'same-origin'
}
