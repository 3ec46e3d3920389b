import { getServices } from '~/services.server'
import { ok } from '~/utils/api.server'

// GET /bench/noop — the baseline of `npm run bench` (SPEC §10): a resource route that does
// nothing, in the same server as the status route (outside /api so the auth matrix does not treat it as an
// API route). Answers only when BENCH_NOOP=1; 404 otherwise.
export function loader() {
  if (getServices().env.BENCH_NOOP !== '1') {
    return new Response(JSON.stringify({ ok: false, error: 'NOT_FOUND', message: 'Not found' }), {
      status: 404,
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    })
  }
  return ok({ ok: true })
}
