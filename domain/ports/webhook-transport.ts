/**
 * Why a target URL is refused (the target policy: docs/security.md#crm-webhook-targets).
 * - `invalid_url`: not an absolute http(s) URL, or it carries user:password;
 * - `https_required`: plain http where only https is allowed (production);
 * - `private_address`: the host is, or resolves to, a loopback, private, link-local, CGNAT,
 *   multicast, reserved or unspecified address (also as IPv4-mapped IPv6);
 * - `unresolvable`: the host name has no address.
 */
export type TargetRefusal = 'invalid_url' | 'https_required' | 'private_address' | 'unresolvable'

export type TargetCheck = { ok: true } | { ok: false; reason: TargetRefusal }

/** The answer to one POST, or why there was none. */
export interface TransportResult {
  /** The HTTP status when an answer came (a 3xx is not followed). */
  status: number | null
  /** Why no answer came: `timeout`, `private_address`, `connection_failed`, … (no detail that names internals). */
  error: string | null
  /** At most 1 KiB of the answer body (UTF-8, cut). */
  body: string
  durationMs: number
}

/**
 * Sends a signed event to a CRM endpoint (adapters/http/webhook-http-transport.ts). The policy
 * is enforced at connect time on the address the socket uses, not only here in `checkTarget`.
 */
export interface WebhookTransport {
  /**
   * The target policy for a URL about to be stored (create): scheme, credentials, and every
   * address the host resolves to.
   *
   * @example
   * const check = await transport.checkTarget('https://crm.example.com/hooks/wa')
   */
  checkTarget(url: string): Promise<TargetCheck>
  /**
   * POSTs `body` with `headers`: no redirect followed, a deadline, at most 1 KiB of the answer read.
   * Never throws for a network outcome: it is the result's `error`.
   */
  post(url: string, request: { headers: Record<string, string>; body: string }): Promise<TransportResult>
}
