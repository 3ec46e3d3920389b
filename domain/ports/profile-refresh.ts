/**
 * Asks for the linked account's profile (name, picture) to be fetched again in the background
 * (the `wa.refresh-profile` job, decision 242): on link, and by the reconcile once the stored
 * profile is a day old. Never inside a user's request; at most one pending refresh per tenant.
 */
export interface ProfileRefreshQueue {
  request(tenantId: string): Promise<void>
}
