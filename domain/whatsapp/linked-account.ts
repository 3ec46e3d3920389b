import { z } from 'zod'

/**
 * The WhatsApp account a tenant's instance is linked to, as far as we know it: the one value
 * the provider returns (`getLinkedAccount`), a webhook's `wid` gives, the repository stores,
 * the status answer carries and the publisher fans out. A new fact about the account (its
 * avatar, say) is added to this schema, and the domain, the publisher and the fakes carry it
 * without a change; only its sources (the adapter), its column and its presentation know it.
 */
export const LinkedAccountSchema = z.object({
  /** E.164 with `+`. Personal data: never logged at info level. */
  phone: z.string(),
  /**
   * The account's WhatsApp profile name (Green-API `getContactInfo` on its own chat), when known.
   * PERSONAL DATA: stored encrypted, never logged.
   */
  name: z.string().optional(),
  /**
   * Version of the account's profile picture as we store and serve it from our own origin
   * (`GET /api/wa/profile-picture?v=…`, decision 240): a digest of the bytes, never the
   * upstream URL. Absent: no picture.
   */
  picture: z.string().optional(),
})

export type LinkedAccount = z.output<typeof LinkedAccountSchema>

/** Same account with every fact equal, whatever facts the type holds. */
export function sameAccount(a: LinkedAccount | null, b: LinkedAccount | null): boolean {
  if (a === null || b === null) return a === b
  const left: Record<string, unknown> = a
  const right: Record<string, unknown> = b
  const keys = new Set([...Object.keys(left), ...Object.keys(right)])
  return [...keys].every((k) => left[k] === right[k])
}

/**
 * What is known after an observation: `undefined` says nothing (the stored account stays),
 * `null` unlinked; a look at the same phone adds its facts to what was known (a webhook's `wid`
 * has the phone only), another phone replaces the account.
 */
export function observedAccount(current: LinkedAccount | null, seen: LinkedAccount | null | undefined): LinkedAccount | null {
  if (seen === undefined) return current
  if (seen === null) return null
  return current && current.phone === seen.phone ? { ...current, ...seen } : seen
}
