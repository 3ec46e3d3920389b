/**
 * How a link attempt went, as counted by `wa_link_attempts_total{result}` (a closed, bounded set):
 * - `generated` / `already_connected` / `denied` / `error`: how one QR or pairing-code request ended;
 * - `linked`: a phone got linked (a pending attempt became `authorized` by webhook, poll or reconcile);
 * - `expired`: the attempt ran out of time without a scan (recorded once per attempt).
 */
export type LinkOutcome = 'generated' | 'already_connected' | 'denied' | 'error' | 'linked' | 'expired'

/**
 * Where the link use cases report what happened to an attempt (metrics). Called by the use cases
 * themselves, so a renamed audit action or a new repository method cannot silently stop a count.
 * Must not throw and must not block; it receives no tenant id, phone number or secret.
 */
export interface LinkOutcomes {
  /**
   * @example
   * deps.linkOutcomes.record('generated')
   */
  record(outcome: LinkOutcome): void
}
