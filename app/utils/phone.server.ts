import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js'

/**
 * Tenants have no country of their own yet (docs/decisions/173): a national number is read as a
 * French one. When tenants get a country, it replaces this default at the call site.
 */
export const DEFAULT_TENANT_COUNTRY: CountryCode = 'FR'

/** A recipient as the API accepts it (E.164, or national in `country`) → E.164, or null when not a valid number. */
export function toE164(raw: string, country: CountryCode = DEFAULT_TENANT_COUNTRY): string | null {
  const parsed = parsePhoneNumberFromString(raw.trim(), country)
  return parsed && parsed.isValid() ? parsed.number : null
}
