
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

export function isSameOriginRequest(request: Request, origin: string): boolean {
  if (isSafeMethod(request)) return true
  const sentOrigin = request.headers.get('origin')
  if (sentOrigin !== null) return sentOrigin === origin
  return request.headers.get('sec-fetch-site') === 'same-origin'
}
