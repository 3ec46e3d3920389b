import { refreshDueStates, type WhatsAppDeps } from '../../domain/whatsapp'

/**
 * Runs the background state refresher (decision 120) in this process: a pass every quarter of
 * the link-attempt poll interval, one pass at a time, so an attempt is checked within
 * [1, 1.25] × its interval while the poll lease keeps upstream calls single-flight across
 * processes. Status requests never wait for it. A pass that took longer than a tick (more live
 * attempts than this process keeps at pace, decision 231) is followed by a rest as long as the
 * pass: the refresher then takes about half of the process's time at most, requests the rest,
 * and every attempt slows evenly. The timer never keeps the process alive. Returns the stop
 * function.
 */
export function startStatusRefresher(
  wa: WhatsAppDeps,
  pass: (wa: WhatsAppDeps) => Promise<unknown> = refreshDueStates,
): () => void {
  const tickMs = Math.max(50, Math.floor(wa.config.attemptPollIntervalMs / 4))
  let running = false
  let restUntil = 0
  const tick = async () => {
    if (running || Date.now() < restUntil) return
    running = true
    const started = Date.now()
    try {
      await pass(wa)
    } catch (err) {
      // A database hiccup while listing the due rows: the next pass tries again.
      wa.logger.warn({ code: (err as { code?: unknown } | null)?.code ?? 'UNEXPECTED' }, 'background state refresh failed')
    } finally {
      running = false
      const took = Date.now() - started
      if (took > tickMs) restUntil = Date.now() + took
    }
  }
  const timer = setInterval(() => void tick(), tickMs)
  timer.unref()
  return () => clearInterval(timer)
}
