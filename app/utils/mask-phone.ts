import { parsePhoneNumberFromString } from 'libphonenumber-js'

/**
 * A peer as the settings page shows it: the country code, the first digit and the last four,
 * the rest hidden (`+33612345678` → `+33 6 •• •• 56 78`). A group or other chat id shows as
 * `null` (the page says "group"). Never logged either way.
 */
export function maskPhone(peer: string): string | null {
  if (!peer.startsWith('+')) return null
  const parsed = parsePhoneNumberFromString(peer)
  const cc = parsed?.countryCallingCode ?? ''
  const national = parsed ? String(parsed.nationalNumber) : peer.slice(1)
  if (national.length < 6) return `+${cc} ••••`
  const hiddenPairs = Math.max(1, Math.ceil((national.length - 5) / 2))
  const last = national.slice(-4)
  return `+${cc} ${national[0]} ${Array(hiddenPairs).fill('••').join(' ')} ${last.slice(0, 2)} ${last.slice(2)}`
}
