/**
 * Asks for the linked account's profile (name, picture) to be fetched again in the background
 * (the `wa.refresh-profile` job, decision 242): on link, and by the reconcile once the stored
 * profile is a day old. Never inside a user's request; at most one pending refresh per tenant.
 */
export interface ProfileRefreshQueue {
  /**
   * `'due'` (default, the reconcile's ask): now, unless a retry is already scheduled, which
   * stays where it is. `'now'`: a new link, now, whatever is scheduled. A date: the retry
   * after a failed fetch, not before then.
   */
  request(tenantId: string, when?: 'due' | 'now' | Date): Promise<void>
}
