import { createHash } from 'node:crypto'
import type { ProfilePictureFetcher } from '../../domain/ports/profile-picture-fetcher'
import { PROFILE_IMAGE_TYPES, imageTypeOf, type ProfilePicture } from '../../domain/whatsapp'

export interface HttpProfilePictureFetcherOptions {
  /**
   * Simulator mode (offline, tests; never production): the simulator serves its pictures itself,
   * on the instance's own apiUrl origin or on this machine's loopback, over http too.
   */
  simulator?: boolean
  /** Whole exchange deadline (default 5 s). */
  timeoutMs?: number
  /** Larger answers are no picture (default 1 MiB). */
  maxBytes?: number
  /** Default: the global fetch, looked up at call time (MSW patches it in tests). */
  fetch?: typeof fetch
}

/** WhatsApp's profile-picture CDN (`https://pps.whatsapp.net/…`, docs/green-api.md §3). */
const TRUSTED_HOST_SUFFIX = 'whatsapp.net'
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])
const ACCEPTED_TYPES: ReadonlySet<string> = new Set(PROFILE_IMAGE_TYPES)

/**
 * Downloads a linked account's picture server-side (decision 241). Trusted URLs only: https on
 * WhatsApp's picture host (an allow-list, stricter than the CRM webhooks' address policy, which is
 * for URLs tenants type) or, in simulator mode, the simulator's own origin. Redirects are refused,
 * the whole exchange has a deadline, at most `maxBytes` are read, the answer must say it is a
 * JPEG/PNG/WebP and its magic bytes must agree. Anything else: null. Never throws, never logs
 * (the URL and the bytes are personal data).
 */
export class HttpProfilePictureFetcher implements ProfilePictureFetcher {
  private readonly timeoutMs: number
  private readonly maxBytes: number

  constructor(private readonly options: HttpProfilePictureFetcherOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5_000
    this.maxBytes = options.maxBytes ?? 1024 * 1024
  }

  async fetch(raw: string, opts: { instanceApiUrl?: string } = {}): Promise<ProfilePicture | null> {
    const url = this.trusted(raw, opts.instanceApiUrl)
    if (!url) return null
    // The deadline covers the body too, whatever the stream does once given up.
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.timeoutMs)
    })
    try {
      return await Promise.race([this.download(url), deadline])
    } finally {
      clearTimeout(timer)
    }
  }

  private async download(url: URL): Promise<ProfilePicture | null> {
    try {
      const doFetch = this.options.fetch ?? fetch
      const res = await doFetch(url.href, {
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { accept: PROFILE_IMAGE_TYPES.join(', ') },
      })
      const declared = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
      const length = Number(res.headers.get('content-length') ?? '0')
      if (res.status !== 200 || !ACCEPTED_TYPES.has(declared) || length > this.maxBytes || !res.body) {
        res.body?.cancel().catch(() => undefined)
        return null
      }
      const bytes = await this.readCapped(res.body)
      if (!bytes) return null
      const contentType = imageTypeOf(bytes)
      if (!contentType) return null
      return { bytes, contentType, version: createHash('sha256').update(bytes).digest('hex').slice(0, 20) }
    } catch {
      return null // timeout, refused redirect, connection error: no picture
    }
  }

  private trusted(raw: string, instanceApiUrl: string | undefined): URL | null {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return null
    }
    if (url.username || url.password) return null
    const host = url.hostname.toLowerCase()
    if (
      url.protocol === 'https:' &&
      url.port === '' &&
      (host === TRUSTED_HOST_SUFFIX || host.endsWith(`.${TRUSTED_HOST_SUFFIX}`))
    ) {
      return url
    }
    if (!this.options.simulator || (url.protocol !== 'https:' && url.protocol !== 'http:')) return null
    if (LOOPBACK.has(host)) return url
    if (instanceApiUrl) {
      try {
        if (new URL(instanceApiUrl).origin === url.origin) return url
      } catch {
        return null
      }
    }
    return null
  }

  /** The body, or null once it passes `maxBytes` (the rest is not read). */
  private async readCapped(body: ReadableStream<Uint8Array>): Promise<Uint8Array | null> {
    const reader = body.getReader()
    const chunks: Uint8Array[] = []
    let total = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.byteLength
      if (total > this.maxBytes) {
        reader.cancel().catch(() => undefined)
        return null
      }
      chunks.push(value)
    }
    const out = new Uint8Array(total)
    let at = 0
    for (const c of chunks) {
      out.set(c, at)
      at += c.byteLength
    }
    return out
  }
}
