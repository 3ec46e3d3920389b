import { z } from 'zod'

/**
 * Field schemas shared by the domain and the app (routes, forms, OpenAPI).
 * The domain may import only zod, so phone numbers are checked here with a strict E.164 regex;
 * the app layer adds libphonenumber-js validation (real numbering plans) on top.
 */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/
export const E164_PATTERN = /^\+[1-9]\d{6,14}$/

export const TenantIdSchema = z.string().regex(TENANT_ID_PATTERN, 'invalid tenant id')

export const PhoneNumberSchema = z
  .string()
  .trim()
  .regex(E164_PATTERN, 'phone number must be E.164, e.g. +33612345678')

export const TestMessageSchema = z
  .string()
  .trim()
  .min(1, 'message must not be empty')
  .max(1000, 'message must be at most 1000 characters')

/** Body of `POST /api/wa/test`. */
export const SendTestInputSchema = z.object({
  to: PhoneNumberSchema.optional(),
  message: TestMessageSchema.optional(),
})

/** Body of `POST /api/wa/pairing-code`. */
export const PairingCodeInputSchema = z.object({ phoneNumber: PhoneNumberSchema })

/**
 * Green-API chat id / wid (`33612345678@c.us`) → E.164 (`+33612345678`), or null when empty or
 * not a personal chat id.
 */
export function widToE164(wid: string | null | undefined): string | null {
  if (!wid) return null
  const m = /^(\d{7,15})@c\.us$/.exec(wid)
  if (!m) return null
  const phone = `+${m[1]}`
  return E164_PATTERN.test(phone) ? phone : null
}
