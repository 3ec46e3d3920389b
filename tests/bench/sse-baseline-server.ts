/**
 * The SSE baseline of `npm run bench -- --only sse`: a bare `node:http` server that streams
 * `GET /api/wa/events` with nothing of ours (no express, middleware, auth, slots or fan-out
 * class), so that the heap per stream and the fan-out latency it shows are what Node's own
 * socket, parser and request/response objects cost, with the same client process
 * (tests/bench/sse-clients.ts) and the same probe as the app (tests/bench/baselines.ts):
 *
 * - `GET /api/wa/events`: the SSE headers and a first `status` event, then the response is kept
 *   in one Set until its socket closes;
 * - `POST /bench/sim` `{ state }`: one event encoded once and written to every open stream;
 *   answers `{ at }` (epoch ms, taken before the writes, as the app's bench route does);
 * - `GET /bench/probe[?gc=1]`: CPU time, heap (after a full GC when asked), RSS, open streams.
 *
 * Started by tests/bench/bench.ts as `node --expose-gc --import tsx …` with BENCH_PORT; prints
 * `ready <port>` once it listens on 127.0.0.1.
 */
import http from 'node:http'
import type { ProbeReading } from './baselines'

const port = Number(process.env.BENCH_PORT)
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('sse-baseline-server needs --expose-gc (heap figures are after a full GC)')

const HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-store, no-transform',
  Connection: 'keep-alive',
}
const event = (status: string) => Buffer.from(`event: status\ndata: ${JSON.stringify({ status })}\n\n`)
const streams = new Set<http.ServerResponse>()

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  if (req.method === 'GET' && url.pathname === '/api/wa/events') {
    res.writeHead(200, HEADERS)
    res.write(Buffer.concat([Buffer.from('retry: 3000\n'), event('authorized')]))
    streams.add(res)
    res.once('close', () => streams.delete(res))
    return
  }
  if (req.method === 'GET' && url.pathname === '/bench/probe') {
    if (url.searchParams.get('gc') === '1') gc()
    const cpu = process.cpuUsage()
    const memory = process.memoryUsage()
    const reading: ProbeReading = {
      cpuMicros: cpu.user + cpu.system,
      heapUsed: memory.heapUsed,
      rss: memory.rss,
      sseOpen: streams.size,
      upstream: {},
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reading))
    return
  }
  if (req.method === 'POST' && url.pathname === '/bench/sim') {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const { state } = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { state?: string }
      const at = performance.timeOrigin + performance.now()
      const bytes = event(state ?? 'authorized')
      for (const s of streams) s.write(bytes)
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, at }))
    })
    return
  }
  res.writeHead(404).end()
})
server.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${port}\n`))

const stop = () => {
  server.close()
  server.closeAllConnections()
  process.exit(0)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
