import { refreshDueStates, type WhatsAppDeps } from '../../domain/whatsapp'

/**
 * Runs the background state refresher (decision 120) in this process: a pass every quarter of
 * the link-attempt poll interval, one pass at a time, so an attempt is checked within
 * [1, 1.25] × its interval while the poll lease keeps upstream calls single-flight across
 * processes. Status requests never wait for it. The timer never keeps the process alive.
 * Returns the stop function.
 */
export function startStatusRefresher(wa: WhatsAppDeps): () => void {
  let running = false
  const tick = async () => {
    if (running) return
    running = true
    try {
      await refreshDueStates(wa)
    } catch (err) {
      // A database hiccup while listing the due rows: the next pass tries again.
      wa.logger.warn({ code: (err as { code?: unknown } | null)?.code ?? 'UNEXPECTED' }, 'background state refresh failed')
    } finally {
      running = false
    }
  }
  const timer = setInterval(() => void tick(), Math.max(50, Math.floor(wa.config.attemptPollIntervalMs / 4)))
  timer.unref()
  return () => clearInterval(timer)
}
