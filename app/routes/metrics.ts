import type { LoaderFunctionArgs } from '@remix-run/node'
import { getServices } from '../services.server'
import { errorResponse } from '../utils/http-errors.server'

// GET /metrics — Prometheus text. When METRICS_TOKEN is set, a matching Bearer token is required.
export async function loader({ request }: LoaderFunctionArgs) {
  const { env, metrics, secrets } = getServices()
  if (env.METRICS_TOKEN) {
    const presented = (request.headers.get('authorization') ?? '').replace(/^Bearer\s+/i, '')
    if (!secrets.safeEqual(presented, env.METRICS_TOKEN)) {
      return errorResponse(401, 'UNAUTHENTICATED', 'Metrics token required', { headers: { 'WWW-Authenticate': 'Bearer' } })
    }
  }
  return new Response(await metrics.registry.metrics(), {
    headers: { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' },
  })
}
