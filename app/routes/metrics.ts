import type { LoaderFunctionArgs } from '@remix-run/node'
import { getServices } from '../services.server'
import { inLanguage, localizedError } from '../utils/http-errors.server'
import { getLang } from '../utils/lang.server'

// GET /metrics — Prometheus text. When METRICS_TOKEN is set, a matching Bearer token is required.
export async function loader({ request }: LoaderFunctionArgs) {
  const { env, metrics, secrets } = getServices()
  if (env.METRICS_TOKEN) {
    const presented = (request.headers.get('authorization') ?? '').replace(/^Bearer\s+/i, '')
    if (!secrets.safeEqual(presented, env.METRICS_TOKEN)) {
      // In the caller's language, like the API's envelopes (decision 256).
      const refused = localizedError(401, 'UNAUTHENTICATED', 'api.metrics.tokenRequired', {
        headers: { 'WWW-Authenticate': 'Bearer' },
      })
      return inLanguage(refused, await getLang(request))
    }
  }
  return new Response(await metrics.registry.metrics(), {
    headers: { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' },
  })
}
