import type { Actor } from '../whatsapp'

/** An error as a log field: its name and code, never its message (which may quote data). */
export function errorName(err: unknown): { name: string; code?: string } {
  if (!(err instanceof Error)) return { name: typeof err }
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? { name: err.name, code } : { name: err.name }
}

export function actorLabel(actor: Actor): string {
  return actor.kind === 'user' ? `user:${actor.userId}` : `system:${actor.name}`
}

/** The origin of a URL, for audit entries and logs (a path or query may carry the CRM's own token). */
export function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return 'invalid'
  }
}
