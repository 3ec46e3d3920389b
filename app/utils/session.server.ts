import { createHash, randomBytes } from 'node:crypto'
import { createCookie, type Cookie } from '@remix-run/node'
import * as cookie from 'cookie'
import type { SessionPolicy, SessionStore } from '../../domain/ports/session-store'

/**
 * Browser sessions (docs/security.md#authentication-and-sessions): a random 32-byte id in a `__Host-` cookie (Secure ALWAYS,
 * HttpOnly, SameSite=Lax, Path=/, no Domain); the server keeps only sha256(id) with the user,
 * idle and absolute expiry, and revocation. Rotated at every sign-in, revoked at sign-out.
 */
export const SESSION_POLICY: SessionPolicy = { idleSeconds: 12 * 3600, absoluteSeconds: 7 * 24 * 3600 }

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/

const SESSION_COOKIE = '__Host-wa_session'
const HOST_ONLY = { httpOnly: true, secure: true, sameSite: 'lax', path: '/' } as const

/**
 * A `__Host-` cookie through Remix's `createCookie`, for values the app chooses (encoded by
 * Remix): Secure, Path=/ and no Domain are what the prefix demands; HttpOnly, SameSite=Lax.
 */
export function hostOnlyCookie(name: string, maxAgeSeconds: number): Cookie {
  return createCookie(name, { ...HOST_ONLY, maxAge: maxAgeSeconds })
}

/**
 * The request's cookies as sent, parsed by the `cookie` package (first occurrence of a name wins;
 * values are kept raw, not URI-decoded). Only for the two cookies `createCookie` cannot read: the
 * session id, kept as its raw 43 characters (createCookie would re-encode it and sign everyone
 * out), and remix-auth-oauth2's per-tab state cookies (`<name>:<random id>`), which a failed
 * callback clears by name prefix.
 */
function requestCookies(request: Request): Record<string, string | undefined> {
  return cookie.parse(request.headers.get('cookie') ?? '', { decode: (raw) => raw })
}

/** Names of the request's cookies that start with `prefix`. */
export function cookieNames(request: Request, prefix: string): string[] {
  return Object.keys(requestCookies(request)).filter((n) => n.startsWith(prefix))
}

/**
 * A raw `__Host-` Set-Cookie (see `requestCookies` for why not createCookie); 0 clears it.
 * Written by hand: `cookie.serialize` refuses the `:` of remix-auth-oauth2's state cookie names.
 */
export function rawHostCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Lax`
}

const hashSessionId = (id: string): string => createHash('sha256').update(id).digest('hex')

/** The presented session id's hash, when the cookie has the right shape. */
function presentedSessionHash(request: Request): string | null {
  const id = requestCookies(request)[SESSION_COOKIE]
  return id && SESSION_ID.test(id) ? hashSessionId(id) : null
}

export interface LiveSession {
  userId: string
  idHash: string
}

export async function getLiveSession(store: SessionStore, request: Request): Promise<LiveSession | null> {
  const idHash = presentedSessionHash(request)
  if (!idHash) return null
  const row = await store.findLive(idHash)
  return row ? { userId: row.userId, idHash } : null
}

/**
 * Sign-in: the presented session (if any) is revoked and a new id issued, so a cookie planted or
 * captured before sign-in never becomes authenticated (login CSRF / fixation).
 * Returns the Set-Cookie value.
 */
export async function rotateSession(
  store: SessionStore,
  request: Request,
  input: { userId: string; ip: string | null },
): Promise<string> {
  const old = presentedSessionHash(request)
  if (old) await store.revoke(old)
  const id = randomBytes(32).toString('base64url')
  await store.create({
    idHash: hashSessionId(id),
    userId: input.userId,
    ip: input.ip,
    userAgent: request.headers.get('user-agent'),
  })
  return rawHostCookie(SESSION_COOKIE, id, SESSION_POLICY.absoluteSeconds)
}

/** Sign-out: revokes the presented session server-side and returns the clearing Set-Cookie. */
export async function endSession(store: SessionStore, request: Request): Promise<{ setCookie: string; userId: string | null }> {
  const live = await getLiveSession(store, request)
  const idHash = presentedSessionHash(request)
  if (idHash) await store.revoke(idHash)
  return { setCookie: rawHostCookie(SESSION_COOKIE, '', 0), userId: live?.userId ?? null }
}
