/**
 * Only same-site relative paths survive: `/settings/x?y` yes; `//evil.com`, `/\evil.com`,
 * `https://evil.com`, `javascript:…`, paths with control characters (browsers strip tabs and
 * newlines, turning `/\t/evil.com` into `//evil.com`), and paths that only become `//evil.com`
 * once dot-segments are resolved (`/a/..//evil.com`) all fall back to `fallback`.
 */
const DEFAULT_REDIRECT = '/settings/whatsapp'

export function safeRedirect(to: FormDataEntryValue | string | null | undefined, fallback: string = DEFAULT_REDIRECT): string {
  if (typeof to !== 'string' || to.length === 0 || to.length > 2048) return fallback
  if (!to.startsWith('/') || to.startsWith('//') || to.includes('\\')) return fallback
  if (/[\u0000-\u001f\u007f]/.test(to)) return fallback
  try {
    const base = 'http://same.invalid'
    const url = new URL(to, base)
    if (url.origin !== base) return fallback
    const path = `${url.pathname}${url.search}${url.hash}`
    // Check what we will emit, not what we were given: resolving dot-segments turns
    // `/.//evil.example` or `/a/%2e%2e//evil.example` into `//evil.example`, a
    // protocol-relative URL to another host (an open redirect).
    if (!path.startsWith('/') || path.startsWith('//') || path.startsWith('/\\')) return fallback
    return path
  } catch {
    return fallback
  }
}

/** `/login?redirectTo=<current path>` for a page that needs a signed-in user. */
export function loginUrl(request: Request): string {
  const url = new URL(request.url)
  const back = safeRedirect(`${url.pathname}${url.search}`, '/')
  return back === '/' ? '/login' : `/login?redirectTo=${encodeURIComponent(back)}`
}
