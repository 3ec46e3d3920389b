import type { LoaderFunctionArgs } from '@remix-run/node'
import { getServices } from '../services.server'
import { apiHandler } from '../utils/api.server'
import { requireApiContext } from '../utils/guards.server'
import { getProfilePicture } from '../../domain/whatsapp'

// GET /api/wa/profile-picture — the linked account's picture, fetched server-side and served
// from our own origin (decision 240): the page's CSP (`img-src 'self' data:`) never lets a
// WhatsApp CDN URL in, and the browser never tells WhatsApp who looks at the picture.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const services = getServices()
  return apiHandler(request, services.logger, async () => {
    const ctx = await requireApiContext(request, { mutating: false, context })
    const picture = await getProfilePicture(services.whatsapp, { tenantId: ctx.tenantId })
    const etag = `"${picture.version}"`
    // The versioned URL names these very bytes: the browser may keep them; any other URL revalidates.
    const current = new URL(request.url).searchParams.get('v') === picture.version
    // X-Content-Type-Options: nosniff, like every answer (server/security-headers.ts).
    const headers = {
      'Cache-Control': current ? 'private, max-age=31536000, immutable' : 'private, no-cache',
      ETag: etag,
      'Content-Disposition': 'inline',
      Vary: 'Cookie, Authorization, X-Tenant',
    }
    if (
      request.headers
        .get('if-none-match')
        ?.split(/\s*,\s*/)
        .includes(etag)
    )
      return new Response(null, { status: 304, headers })
    return new Response(Buffer.from(picture.bytes), {
      status: 200,
      headers: { ...headers, 'Content-Type': picture.contentType, 'Content-Length': String(picture.bytes.byteLength) },
    })
  })
}
