import { errorResponse } from '../utils/http-errors.server'

// Unknown /api/* paths answer the JSON envelope, not the HTML 404 page.
const notFound = () => errorResponse(404, 'NOT_FOUND', 'No such API route')
export const loader = notFound
export const action = notFound
