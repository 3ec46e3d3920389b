import { lookup as dnsLookup } from 'node:dns/promises'
import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import type { TargetCheck, TransportResult, WebhookTransport } from '../../domain/ports/webhook-transport'
import { ipLiteralOf, isPublicAddress } from './address-policy'

/** How a host name becomes addresses (default: the system resolver, every address). */
export type HostResolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>

export interface WebhookHttpTransportOptions {
  /** Plain http refused (production default). */
  httpsOnly: boolean
  /** Loopback/private/link-local/… targets allowed (development and tests default). */
  allowPrivate: boolean
  /** Whole request deadline: connect, send, answer (10 s). */
  timeoutMs?: number
  /** At most this many bytes of the answer are read (1 KiB). */
  maxResponseBytes?: number
  resolver?: HostResolver
}

const systemResolver: HostResolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true })

/** Thrown from the socket's lookup when the resolved address is refused. */
class RefusedAddressError extends Error {
  readonly code = 'EWEBHOOK_PRIVATE_ADDRESS'
}

/**
 * POSTs CRM events with node:http/https (decision 183). The target policy runs twice: on create
 * (`checkTarget`) and inside the socket's own `lookup`, on the very addresses it then connects
 * to — a name that resolved to a public address at create and to 127.0.0.1 now (DNS
 * rebinding) is refused, since no second resolution happens between check and connect. IP
 * literals skip `lookup` in node, so they are checked before the request. Redirects are never
 * followed (node does not), the deadline covers the whole exchange, and at most 1 KiB of the
 * answer is read before the socket is closed. No keep-alive: every try is a fresh, checked
 * connection.
 */
export class WebhookHttpTransport implements WebhookTransport {
  private readonly timeoutMs: number
  private readonly maxResponseBytes: number
  private resolver: HostResolver

  constructor(private readonly options: WebhookHttpTransportOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000
    this.maxResponseBytes = options.maxResponseBytes ?? 1024
    this.resolver = options.resolver ?? systemResolver
  }

  /** Tests: a resolver standing in for DNS (e.g. one that rebinds between two calls). */
  useResolver(resolver: HostResolver): void {
    this.resolver = resolver
  }

  async checkTarget(raw: string): Promise<TargetCheck> {
    const url = this.parse(raw)
    if (!url.ok) return url
    if (this.options.allowPrivate) return { ok: true }
    const literal = ipLiteralOf(url.url.hostname)
    if (literal) return isPublicAddress(literal) ? { ok: true } : { ok: false, reason: 'private_address' }
    let addresses: Array<{ address: string }>
    try {
      addresses = await this.resolver(url.url.hostname)
    } catch {
      return { ok: false, reason: 'unresolvable' }
    }
    if (addresses.length === 0) return { ok: false, reason: 'unresolvable' }
    return addresses.every((a) => isPublicAddress(a.address)) ? { ok: true } : { ok: false, reason: 'private_address' }
  }

  async post(raw: string, request: { headers: Record<string, string>; body: string }): Promise<TransportResult> {
    const started = performance.now()
    const done = (partial: Omit<TransportResult, 'durationMs'>): TransportResult => ({
      ...partial,
      durationMs: performance.now() - started,
    })
    const url = this.parse(raw)
    if (!url.ok) return done({ status: null, error: url.reason, body: '' })
    const literal = ipLiteralOf(url.url.hostname)
    if (literal && !this.options.allowPrivate && !isPublicAddress(literal)) {
      return done({ status: null, error: 'private_address', body: '' })
    }
    const client = url.url.protocol === 'https:' ? https : http
    return new Promise<TransportResult>((resolve) => {
      let settled = false
      const finish = (result: Omit<TransportResult, 'durationMs'>) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(done(result))
      }
      const req = client.request(url.url, {
        method: 'POST',
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        lookup: this.lookup,
        agent: false,
      })
      const timer = setTimeout(() => {
        finish({ status: null, error: 'timeout', body: '' })
        req.destroy()
      }, this.timeoutMs)
      req.on('error', (err) => finish({ status: null, error: networkErrorCode(err), body: '' }))
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        let size = 0
        const complete = () => {
          const body = Buffer.concat(chunks).subarray(0, this.maxResponseBytes).toString('utf8')
          finish({ status: res.statusCode ?? null, error: null, body })
        }
        res.on('data', (chunk: Buffer) => {
          if (size >= this.maxResponseBytes) return
          chunks.push(chunk)
          size += chunk.length
          // Enough read: the rest of the answer is never downloaded.
          if (size >= this.maxResponseBytes) {
            complete()
            res.destroy()
          }
        })
        res.on('end', complete)
        res.on('error', complete)
        res.on('close', complete)
      })
      req.end(request.body)
    })
  }

  private parse(raw: string): { ok: true; url: URL } | { ok: false; reason: 'invalid_url' | 'https_required' } {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return { ok: false, reason: 'invalid_url' }
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'invalid_url' }
    if (url.username || url.password || !url.hostname) return { ok: false, reason: 'invalid_url' }
    if (this.options.httpsOnly && url.protocol !== 'https:') return { ok: false, reason: 'https_required' }
    return { ok: true, url }
  }

  /** The socket's resolver: resolves once, refuses if any address is refused, hands over the rest. */
  private readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolver(hostname).then(
      (found) => {
        const addresses = options.family ? found.filter((a) => a.family === options.family) : found
        if (addresses.length === 0) {
          callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '', 0)
          return
        }
        if (!this.options.allowPrivate && !addresses.every((a) => isPublicAddress(a.address))) {
          callback(new RefusedAddressError('refused address'), '', 0)
          return
        }
        if (options.all) (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses)
        else callback(null, addresses[0]!.address, addresses[0]!.family)
      },
      (err: unknown) => callback(err as NodeJS.ErrnoException, '', 0),
    )
  }
}

/** A short, stable code for a failed exchange (no message: it may name internal hosts). */
function networkErrorCode(err: unknown): string {
  const code = (err as { code?: unknown }).code
  if (code === 'EWEBHOOK_PRIVATE_ADDRESS') return 'private_address'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'unresolvable'
  if (code === 'ECONNREFUSED') return 'connection_refused'
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection_reset'
  if (typeof code === 'string' && (code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('ERR_SSL')))
    return 'tls_error'
  return 'connection_failed'
}
