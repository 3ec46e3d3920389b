/** Position in a newest-first listing: the last item of the previous page. */
export interface MessageCursor {
  createdAt: Date
  id: string
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function toBase64Url(s: string): string {
  const bytes = new TextEncoder().encode(s)
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromBase64Url(s: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(s)) return null
  try {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'))
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)))
  } catch {
    return null
  }
}

/** An opaque cursor (base64url of `<createdAt ms>.<id>`): clients pass it back as is. */
export function encodeCursor(cursor: MessageCursor): string {
  return toBase64Url(`${cursor.createdAt.getTime()}.${cursor.id}`)
}

/** The cursor, or null when it is not one of ours (→ 400 for the caller). */
export function decodeCursor(raw: string): MessageCursor | null {
  const text = fromBase64Url(raw)
  if (text === null) return null
  const m = /^(\d{1,15})\.([0-9a-f-]{36})$/.exec(text)
  if (!m || !UUID.test(m[2] as string)) return null
  const createdAt = new Date(Number(m[1]))
  if (Number.isNaN(createdAt.getTime())) return null
  return { createdAt, id: m[2] as string }
}
