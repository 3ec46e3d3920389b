import type { RefreshLane } from '../../domain/ports/connection-repository'
import { refreshDueStates, type WhatsAppDeps } from '../../domain/whatsapp'

/**
 * Runs the background state refresher (decision 120) in this process, in two lanes (decision
 * 273): link attempts and linked rows, each a pass every quarter of the link-attempt poll
 * interval, one pass at a time per lane, so an attempt is checked within [1, 1.25] × its
 * interval whatever wave of reconciles the other lane is in, while the poll lease keeps upstream
 * calls single-flight across processes. Status requests never wait for it. A pass that took
 * longer than a tick (more due work than this process keeps at pace, decision 231) is followed
 * by a rest as long as the pass, in its lane only: a lane then takes about half of the
 * process's time at most, requests the rest. The timers never keep the process alive. Returns
 * the stop function.
 */
export function startStatusRefresher(
  wa: WhatsAppDeps,
  pass: (wa: WhatsAppDeps, lane: RefreshLane) => Promise<unknown> = refreshDueStates,
): () => void {
  const tickMs = Math.max(50, Math.floor(wa.config.attemptPollIntervalMs / 4))
  const lane = (name: RefreshLane) => {
    let running = false
    let restUntil = 0
    return async () => {
      if (running || Date.now() < restUntil) return
      running = true
      const started = Date.now()
      try {
        await pass(wa, name)
      } catch (err) {
        // A database hiccup while listing the due rows: the next pass tries again.
        wa.logger.warn(
          { lane: name, code: (err as { code?: unknown } | null)?.code ?? 'UNEXPECTED' },
          'background state refresh failed',
        )
      } finally {
        running = false
        const took = Date.now() - started
        if (took > tickMs) restUntil = Date.now() + took
      }
    }
  }
  const lanes = [lane('attempts'), lane('linked')]
  const timer = setInterval(() => {
    for (const tick of lanes) void tick()
  }, tickMs)
  timer.unref()
  return () => clearInterval(timer)
}
