import { json } from '@remix-run/node'
import { getServices } from '../services.server'

// Readiness: 200 only when PostgreSQL answers.
export async function loader() {
  const ready = await getServices().databaseReady()
  return ready
    ? json({ ok: true }, { headers: { 'Cache-Control': 'no-store' } })
    : json(
        { ok: false, error: 'UPSTREAM_UNAVAILABLE', message: 'Database unavailable' },
        { status: 503, headers: { 'Cache-Control': 'no-store', 'Retry-After': '5' } },
      )
}
