import { json } from '@remix-run/node'

// Liveness: the process is up. No database call, so a slow database never restarts the pod.
export function loader() {
  return json({ ok: true }, { headers: { 'Cache-Control': 'no-store' } })
}
