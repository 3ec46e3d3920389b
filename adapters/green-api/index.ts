export * from './green-api-whatsapp-provider'
export { DEFAULT_CLIENT_RATE_LIMITS, parseRetryAfterMs } from './http-client'
