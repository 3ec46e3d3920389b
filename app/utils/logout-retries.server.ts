import { retryQuarantinedLogouts, type WhatsAppDeps } from '../../domain/whatsapp'

/**
 * Runs the background logout retries of quarantined instances (decision 085) on a timer: about
 * twice per base backoff, at most every 15 s, one pass at a time. The timer never keeps the
 * process alive. Returns the stop function.
 */
export function startLogoutRetries(wa: WhatsAppDeps, baseDelayMs: number): () => void {
  let running = false
  const tick = async () => {
    if (running) return
    running = true
    try {
      await retryQuarantinedLogouts(wa)
    } catch (err) {
      // A database hiccup: the next tick tries again.
      wa.logger.warn({ code: (err as { code?: unknown } | null)?.code ?? 'UNEXPECTED' }, 'quarantine logout retries failed')
    } finally {
      running = false
    }
  }
  const timer = setInterval(() => void tick(), Math.max(50, Math.min(15_000, Math.floor(baseDelayMs / 2))))
  timer.unref()
  return () => clearInterval(timer)
}
