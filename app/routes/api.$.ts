import type { LoaderFunctionArgs } from '@remix-run/node'
import { inLanguage, localizedError } from '../utils/http-errors.server'
import { getLang } from '../utils/lang.server'

// Unknown /api/* paths answer the JSON envelope (in the caller's language), not the HTML 404 page.
const notFound = async ({ request }: Pick<LoaderFunctionArgs, 'request'>) =>
  inLanguage(localizedError(404, 'NOT_FOUND', 'api.routeNotFound'), await getLang(request))
export const loader = notFound
export const action = notFound
