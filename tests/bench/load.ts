import { createRequire } from 'node:module'

/**
 * The load generator of `npm run bench`, in its own process so it does not share the app's
 * event loop: autocannon against one URL, rotating Bearer tokens (one per tenant) per request.
 * Input: one JSON argument; output: one JSON line on stdout.
 */
interface LoadConfig {
  url: string
  connections: number
  durationSec?: number
  amount?: number
  tokens?: string[]
}

interface AutocannonResult {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number; average: number }
  errors: number
  timeouts: number
  non2xx: number
  statusCodeStats?: Record<string, { count: number }>
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon
const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig
const url = new URL(config.url)
if (url.hostname !== '127.0.0.1') throw new Error('load tests target 127.0.0.1 only')
let next = 0
const tokens = config.tokens ?? []

const result = await autocannon({
  url: url.origin,
  connections: config.connections,
  ...(config.amount ? { amount: config.amount } : { duration: config.durationSec ?? 10 }),
  timeout: 10,
  requests: [
    {
      method: 'GET',
      path: url.pathname,
      setupRequest: (req: { headers?: Record<string, string> }) => {
        if (tokens.length === 0) return req
        const token = tokens[next++ % tokens.length]
        return { ...req, headers: { ...req.headers, authorization: `Bearer ${token}` } }
      },
    },
  ],
})
process.stdout.write(
  `${JSON.stringify({
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    codes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
  })}\n`,
)
