import { z } from 'zod'

/**
 * Field schemas shared by the domain and the app (routes, forms, OpenAPI).
 * The domain may import only zod, so phone numbers are checked here with a strict E.164 regex;
 * the app layer adds libphonenumber-js validation (real numbering plans) on top.
 */
/** A tenant id as the CRM issues it (the X-Tenant header, token claims). */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/
const E164_PATTERN = /^\+[1-9]\d{6,14}$/

export const PhoneNumberSchema = z.string().trim().regex(E164_PATTERN, 'phone number must be E.164, e.g. +33612345678')

export const TestMessageSchema = z
  .string()
  .trim()
  .min(1, 'message must not be empty')
  .max(1000, 'message must be at most 1000 characters')

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

/**
 * An E.164 number with all but its last four digits hidden (`+33612345678` → `+•••••••5678`):
 * the domain's fallback when no richer masking is given (decision 200).
 */
export function maskE164(e164: string): string {
  const digits = e164.replace(/\D/g, '')
  return `+${'•'.repeat(Math.max(0, digits.length - 4))}${digits.slice(-4)}`
}
