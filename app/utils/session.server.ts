import { createHash, randomBytes } from 'node:crypto'
import type { SessionPolicy, SessionStore } from '../../domain/ports/session-store'

/**
 * Browser sessions (docs/security.md#authentication-and-sessions): a random 32-byte id in a `__Host-` cookie (Secure ALWAYS,
 * HttpOnly, SameSite=Lax, Path=/, no Domain); the server keeps only sha256(id) with the user,
 * idle and absolute expiry, and revocation. Rotated at every sign-in, revoked at sign-out.
 */
const SESSION_COOKIE = '__Host-wa_session'
export const SESSION_POLICY: SessionPolicy = { idleSeconds: 12 * 3600, absoluteSeconds: 7 * 24 * 3600 }

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/

/** Reads one cookie by name from the request (first occurrence; values are not decoded). */
export function readCookie(request: Request, name: string): string | null {
  const header = request.headers.get('cookie')
  if (!header) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return null
}

/** Names of the request's cookies that start with `prefix`. */
export function cookieNames(request: Request, prefix: string): string[] {
  const header = request.headers.get('cookie') ?? ''
  return header
    .split(';')
    .map((p) => p.slice(0, Math.max(0, p.indexOf('='))).trim())
    .filter((n) => n.startsWith(prefix))
}

const hashSessionId = (id: string): string => createHash('sha256').update(id).digest('hex')

/** A `__Host-` cookie: Secure + Path=/ + no Domain are what the prefix demands. */
export function hostCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Lax`
}

export const clearHostCookie = (name: string): string => `${name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`

/** The presented session id's hash, when the cookie has the right shape. */
function presentedSessionHash(request: Request): string | null {
  const id = readCookie(request, SESSION_COOKIE)
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
  await store.create({ idHash: hashSessionId(id), userId: input.userId, ip: input.ip, userAgent: request.headers.get('user-agent') })
  return hostCookie(SESSION_COOKIE, id, SESSION_POLICY.absoluteSeconds)
}

/** Sign-out: revokes the presented session server-side and returns the clearing Set-Cookie. */
export async function endSession(store: SessionStore, request: Request): Promise<{ setCookie: string; userId: string | null }> {
  const live = await getLiveSession(store, request)
  const idHash = presentedSessionHash(request)
  if (idHash) await store.revoke(idHash)
  return { setCookie: clearHostCookie(SESSION_COOKIE), userId: live?.userId ?? null }
}
