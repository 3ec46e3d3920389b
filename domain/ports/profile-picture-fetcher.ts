import type { ProfilePicture } from '../whatsapp/linked-profile'

/**
 * Downloads a linked account's profile picture server-side (decision 241), so the browser only
 * ever loads it from our own origin. An implementation never throws: a URL it does not trust
 * (not https, not WhatsApp's picture host), a timeout, an answer over its size cap, a content
 * type or magic bytes other than JPEG/PNG/WebP all answer `null` ("no picture"). The URL is
 * personal data: never logged.
 */
export interface ProfilePictureFetcher {
  /**
   * `instanceApiUrl`: the instance's Green-API base URL. Only the simulator (offline mode and
   * tests) serves pictures from that origin; a production fetcher ignores it.
   */
  fetch(url: string, options?: { instanceApiUrl?: string }): Promise<ProfilePicture | null>
}
