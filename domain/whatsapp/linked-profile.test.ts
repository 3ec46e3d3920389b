import { describe, expect, it } from 'vitest'
import type { ProfilePictureFetcher } from '../ports/profile-picture-fetcher'
import { createTestWorld, type TestWorld } from '../testing/test-deps'
import { generateQr } from './generate-qr'
import {
  getProfilePicture,
  imageTypeOf,
  PROFILE_REFRESH_MS,
  PROFILE_RETRY_MS,
  refreshLinkedProfile,
  type ProfilePicture,
} from './linked-profile'
import { refreshDueStates } from './refresh-due-states'
import { UpstreamUnavailableError } from './whatsapp.errors'

const actor = { kind: 'user', userId: 'u-1' } as const
const PICTURE: ProfilePicture = { bytes: new Uint8Array([0xff, 0xd8, 0xff, 1]), contentType: 'image/jpeg', version: 'abc123' }

/** A world with the profile ports: refresh requests recorded, a fetcher answering `picture`. */
function world(picture: ProfilePicture | null = PICTURE) {
  const w = createTestWorld()
  const requested: string[] = []
  const asks: Array<{ tenantId: string; when: 'due' | 'now' | Date | undefined }> = []
  const fetched: Array<{ url: string; instanceApiUrl: string | undefined }> = []
  const pictures: ProfilePictureFetcher = {
    async fetch(url, opts) {
      fetched.push({ url, instanceApiUrl: opts?.instanceApiUrl })
      return picture
    },
  }
  w.deps.profileRefresh = {
    request: async (tenantId, when) => {
      requested.push(tenantId)
      asks.push({ tenantId, when })
    },
  }
  w.deps.pictures = pictures
  return { w, requested, asks, fetched }
}

async function linked(w: TestWorld): Promise<void> {
  w.addInstance('1101000001')
  await generateQr(w.deps, { tenantId: 'acme', actor, publicUrl: 'https://crm.example.test' })
  w.provider.setProfile('1101000001', { name: 'Camille', avatarUrl: 'https://pps.whatsapp.net/v/a.jpg' })
  w.provider.setState('1101000001', 'authorized', '+33612345678')
  await refreshDueStates(w.deps)
}

describe('imageTypeOf (magic bytes)', () => {
  it('knows JPEG, PNG and WebP, nothing else', () => {
    expect(imageTypeOf(new Uint8Array([0xff, 0xd8, 0xff, 0xdb]))).toBe('image/jpeg')
    expect(imageTypeOf(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('image/png')
    expect(imageTypeOf(new Uint8Array([...Buffer.from('RIFF'), 1, 2, 3, 4, ...Buffer.from('WEBP')]))).toBe('image/webp')
    expect(imageTypeOf(new Uint8Array([...Buffer.from('RIFF'), 1, 2, 3, 4, ...Buffer.from('WAVE')]))).toBeNull()
    expect(imageTypeOf(new Uint8Array(Buffer.from('GIF89a')))).toBeNull()
    expect(imageTypeOf(new Uint8Array(Buffer.from('<svg')))).toBeNull()
    expect(imageTypeOf(new Uint8Array([0xff, 0xd8]))).toBeNull()
  })
})

describe('the linked account profile (decisions 240–242)', () => {
  it('on link a refresh is requested (never fetched inside the observation); the job stores name and picture and publishes', async () => {
    const { w, requested, fetched } = world()
    await linked(w)
    expect(requested).toEqual(['acme'])
    expect(w.provider.count('getLinkedProfile')).toBe(0)

    expect(await refreshLinkedProfile(w.deps, { tenantId: 'acme' })).toBe('refreshed')
    expect(fetched).toEqual([{ url: 'https://pps.whatsapp.net/v/a.jpg', instanceApiUrl: expect.any(String) }])
    expect(w.connections.rows.get('acme')?.account).toEqual({ phone: '+33612345678', name: 'Camille', picture: 'abc123' })
    expect(w.publisher.published.at(-1)).toMatchObject({ account: { phone: '+33612345678', name: 'Camille', picture: 'abc123' } })
    expect(await getProfilePicture(w.deps, { tenantId: 'acme' })).toEqual(PICTURE)
    // A duplicate job within the day asks nothing.
    expect(await refreshLinkedProfile(w.deps, { tenantId: 'acme' })).toBe('fresh')
    expect(w.provider.count('getLinkedProfile')).toBe(1)
  })

  it('the reconcile asks again only once the profile is a day old', async () => {
    const { w, requested } = world()
    await linked(w)
    await refreshLinkedProfile(w.deps, { tenantId: 'acme' })
    requested.length = 0
    w.clock.advance(w.deps.config.reconcileIntervalMs)
    await refreshDueStates(w.deps)
    expect(requested).toEqual([])
    w.clock.advance(PROFILE_REFRESH_MS)
    await refreshDueStates(w.deps)
    expect(requested).toEqual(['acme'])
  })

  it('an upstream failure keeps what was stored, is not recorded as a fetch and is retried in an hour; no picture is no picture', async () => {
    const { w, asks } = world(null)
    await linked(w)
    // A new account: asked now, whatever was scheduled for the previous one.
    expect(asks).toEqual([{ tenantId: 'acme', when: 'now' }])
    w.provider.failNext('getLinkedProfile', new UpstreamUnavailableError('down'))
    expect(await refreshLinkedProfile(w.deps, { tenantId: 'acme' })).toBe('failed')
    expect(w.connections.rows.get('acme')?.profileFetchedAt ?? null).toBeNull()
    expect(asks.at(-1)).toEqual({ tenantId: 'acme', when: new Date(w.clock.now().getTime() + PROFILE_RETRY_MS) })
    // The reconcile's own ask leaves that retry where it is ('due').
    const checks = w.provider.count('getState')
    w.clock.advance(w.deps.config.reconcileIntervalMs * 2)
    await refreshDueStates(w.deps)
    expect(w.provider.count('getState')).toBe(checks + 1)
    expect(asks.at(-1)).toEqual({ tenantId: 'acme', when: 'due' })
    expect(await refreshLinkedProfile(w.deps, { tenantId: 'acme' })).toBe('refreshed')
    expect(w.connections.rows.get('acme')?.account).toEqual({ phone: '+33612345678', name: 'Camille' })
    await expect(getProfilePicture(w.deps, { tenantId: 'acme' })).rejects.toMatchObject({ code: 'PROFILE_PICTURE_NOT_FOUND' })
    // Logged without the name or the URL.
    expect(JSON.stringify(w.logger)).not.toContain('Camille')
    expect(JSON.stringify(w.logger)).not.toContain('pps.whatsapp.net')
  })

  it('nothing linked: nothing asked', async () => {
    const { w } = world()
    expect(await refreshLinkedProfile(w.deps, { tenantId: 'acme' })).toBe('notLinked')
    expect(w.provider.count('getLinkedProfile')).toBe(0)
  })
})
