/**
 * An instance's outbound send queue (the `wa.send-message` drain, decision 171), as the
 * connection-state use cases see it: when an instance becomes able to send again, its queued
 * messages leave at once instead of at the next recheck (`WA_SEND_RECHECK_MS`).
 */
export interface SendQueueWaker {
  /** Runs the instance's drain now (a run already scheduled for later is moved to now). */
  wake(instanceId: string): Promise<void>
}
