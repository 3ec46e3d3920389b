import { json } from '@remix-run/node'
import { buildOpenApiDocument } from '../api/schemas'

let cached: ReturnType<typeof buildOpenApiDocument> | undefined

// GET /api/openapi.json — generated from the zod schemas the routes parse with.
export function loader() {
  cached ??= buildOpenApiDocument()
  return json(cached, { headers: { 'Cache-Control': 'public, max-age=300' } })
}
