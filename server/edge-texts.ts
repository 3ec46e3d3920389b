import type { IncomingHttpHeaders } from 'node:http'
import { t, type MessageKey } from '../app/utils/i18n'
import { langOfHeaders } from '../app/utils/lang.server'

/**
 * A text the express edge answers before Remix (wrong verb, oversized body, cross-site POST, an
 * unexpected failure), in the request's language like the API's own envelopes: the `lang`
 * cookie, else Accept-Language, else French (decision 256).
 */
export function edgeText(headers: IncomingHttpHeaders, key: MessageKey, vars?: Record<string, string | number>): string {
  return t(langOfHeaders(headers.cookie, headers['accept-language']), key, vars)
}
