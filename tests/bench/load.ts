import { createRequire } from 'node:module'

/**
 * The load generator of `npm run bench`: autocannon against one URL on 127.0.0.1 (anything else
 * is refused), bounded by a duration or a request count, rotating Bearer tokens (one per
 * tenant) request by request. It runs in the bench's own process: the app runs in its own
 * (tests/bench/bench-server.ts), so they do not share an event loop.
 */
export interface LoadConfig {
  url: string
  connections: number
  durationSec?: number
  amount?: number
  /** With `amount`: stop after this many seconds even if the count is not reached. */
  maxSec?: number
  tokens?: string[]
}

export interface LoadResult {
  rps: number
  total: number
  p50: number
  p99: number
  errors: number
  non2xx: number
  codes: Record<string, number>
}

interface AutocannonResult {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number; average: number }
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  statusCodeStats?: Record<string, { count: number }>
}
type Autocannon = (opts: Record<string, unknown>) => PromiseLike<AutocannonResult> & { stop(): void }

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

export async function runLoad(config: LoadConfig): Promise<LoadResult> {
  const url = new URL(config.url)
  if (url.hostname !== '127.0.0.1') throw new Error('load tests target 127.0.0.1 only')
  let next = 0
  const tokens = config.tokens ?? []
  const run = autocannon({
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
  const bound = config.amount && config.maxSec ? setTimeout(() => run.stop(), config.maxSec * 1000) : undefined
  const result = await run
  clearTimeout(bound)
  return {
    // Over the whole run (autocannon's per-second average drops the last partial second).
    rps: result.requests.total / Math.max(0.001, result.duration),
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    codes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
  }
}
