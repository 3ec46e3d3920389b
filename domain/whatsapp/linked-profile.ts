import { requireWhatsAppOrGrace } from './addon-end'
import type { JobQueue } from '../ports/job-queue'
import type { ConnectionRecord } from '../ports/connection-repository'
import type { ProfileRefreshQueue } from '../ports/profile-refresh'
import type { LinkedAccount } from './linked-account'
import { recordProfile } from './record-observation'
import type { WhatsAppDeps } from './whatsapp-deps'
import { credentialsOf, errorSummary } from './use-case-helpers'
import { ProfilePictureNotFoundError } from './whatsapp.errors'

/** The image types a profile picture may have, recognised by their magic bytes (decision 241). */
export const PROFILE_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const
export type ProfileImageType = (typeof PROFILE_IMAGE_TYPES)[number]

/** A profile picture as we store and serve it. PERSONAL DATA: stored encrypted, never logged. */
export interface ProfilePicture {
  bytes: Uint8Array
  /** From the magic bytes, never from the upstream's header alone. */
  contentType: ProfileImageType
  /** Digest of the bytes (hex): the versioned URL's `v` and the ETag. */
  version: string
}

/** How long a fetched profile stays fresh: refreshed at most daily (decision 242). */
export const PROFILE_REFRESH_MS = 24 * 60 * 60 * 1000

/** The image type the bytes start with, or null: JPEG `FF D8 FF`, PNG's 8-byte signature, WebP's `RIFF….WEBP`. */
export function imageTypeOf(bytes: Uint8Array): ProfileImageType | null {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => bytes[at + i] === b)
  if (bytes.length >= 3 && starts([0xff, 0xd8, 0xff])) return 'image/jpeg'
  if (bytes.length >= 8 && starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png'
  if (bytes.length >= 12 && starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp'
  return null
}

/** A linked row whose profile was never fetched, or not for a day: worth a refresh. */
export function profileDue(row: Pick<ConnectionRecord, 'status' | 'account' | 'profileFetchedAt'>, now: Date): boolean {
  if (row.status !== 'authorized' || !row.account) return false
  const fetched = row.profileFetchedAt
  return !fetched || now.getTime() - fetched.getTime() >= PROFILE_REFRESH_MS
}

/**
 * After a failed profile fetch, the next try waits this long (decision 269): the reconcile asks
 * every minute, and retrying at its pace doubled the calls of a connected instance whose
 * `getContactInfo` keeps failing.
 */
export const PROFILE_RETRY_MS = 60 * 60 * 1000

/**
 * The `ProfileRefreshQueue` port over the job queue: one pending `wa.refresh-profile` job per
 * tenant, run one at a time, one try. The reconcile's ask ('due') leaves a pending job's time
 * as it is, so a retry scheduled after a failure is not pulled forward; a new link ('now') and
 * a retry (a date) set it.
 */
export function profileRefreshQueue(jobs: JobQueue): ProfileRefreshQueue {
  return {
    async request(tenantId, when = 'due') {
      // One queue per tenant: a refresh asked while one runs (the link's, then a reconcile's)
      // runs after it and finds the profile fresh, instead of asking Green-API a second time.
      const key = `wa-profile:${tenantId}`
      await jobs.enqueue(
        'wa.refresh-profile',
        { tenantId },
        when === 'due'
          ? { key, queue: key, keyMode: 'preserveRunAt', maxAttempts: 1 }
          : { key, queue: key, keyMode: 'replace', maxAttempts: 1, ...(when === 'now' ? {} : { runAt: when }) },
      )
    },
  }
}

export type ProfileRefreshResult = 'refreshed' | 'fresh' | 'notLinked' | 'failed'

/**
 * The `wa.refresh-profile` job (decision 242): the linked account's name (Green-API
 * `getContactInfo` on its own chat) and picture (downloaded here, server-side, through
 * `deps.pictures`), stored with the account (`recordProfile`) and published like any change.
 * Does nothing for a row not linked or fetched less than a day ago (a duplicate job, a second
 * process). An upstream failure is logged (no name, no URL), leaves the stored profile and
 * schedules the next try in PROFILE_RETRY_MS; a
 * picture that cannot be fetched or is not an image means no picture. Never throws for upstream.
 */
export async function refreshLinkedProfile(deps: WhatsAppDeps, input: { tenantId: string }): Promise<ProfileRefreshResult> {
  const { tenantId } = input
  const record = await deps.connections.findByTenant(tenantId)
  if (!record || record.status !== 'authorized' || !record.account) return 'notLinked'
  const now = deps.clock.now()
  if (!profileDue(record, now)) return 'fresh'
  const creds = credentialsOf(deps, record)
  const phone = record.account.phone
  let profile: { name: string | null; avatarUrl: string | null }
  try {
    profile = await deps.provider.getLinkedProfile(creds, phone)
  } catch (err) {
    // The code only: an upstream 4xx text may echo the chat id (the phone).
    deps.logger.warn({ tenantId, instanceId: record.instanceId, code: errorSummary(err).code }, 'linked profile lookup failed')
    // Tried again in an hour, not at every reconcile (decision 269).
    await deps.profileRefresh?.request(tenantId, new Date(now.getTime() + PROFILE_RETRY_MS))
    return 'failed'
  }
  let picture: ProfilePicture | null = null
  if (profile.avatarUrl && deps.pictures) {
    try {
      picture = await deps.pictures.fetch(profile.avatarUrl, { instanceApiUrl: creds.apiUrl })
    } catch {
      picture = null // the port never throws; a bug there must not lose the name
    }
  }
  await recordProfile(deps, tenantId, { phone, name: profile.name, picture, at: now })
  return 'refreshed'
}

/**
 * The stored picture of the tenant's linked account, for `GET /api/wa/profile-picture`. Gated
 * like the status (WhatsApp Pro on, or a number still linked in the add-on's grace). Throws
 * `ProfilePictureNotFoundError` when there is none (nothing linked, no picture).
 */
export async function getProfilePicture(deps: WhatsAppDeps, input: { tenantId: string }): Promise<ProfilePicture> {
  await requireWhatsAppOrGrace(deps, { tenantId: input.tenantId })
  const picture = await deps.connections.findProfilePicture(input.tenantId)
  if (!picture) throw new ProfilePictureNotFoundError()
  return picture
}

/**
 * The account once its fetched profile is stored: name and picture version replaced (absent
 * when none). Pure, shared by the repositories' `recordProfile`.
 */
export function withProfile(
  account: LinkedAccount,
  profile: { name: string | null; picture: Pick<ProfilePicture, 'version'> | null },
): LinkedAccount {
  const { name: _name, picture: _picture, ...rest } = account
  return {
    ...rest,
    ...(profile.name ? { name: profile.name } : {}),
    ...(profile.picture ? { picture: profile.picture.version } : {}),
  }
}

/** The stored profile belongs to the account it was fetched for: another phone, or none, drops it. */
export function profileKept(before: LinkedAccount | null, after: LinkedAccount | null): boolean {
  return before !== null && after !== null && before.phone === after.phone
}
