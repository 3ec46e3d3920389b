import http from 'node:http'
import readline from 'node:readline'

/**
 * The SSE clients of `npm run bench`, in their own process (the app's heap and event loop stay
 * the app's): opens `streams` authenticated `GET /api/wa/events` streams on 127.0.0.1, spread
 * over `tokens` (one per user: the per-user cap), at most `concurrency` opening at a time, each
 * on its own socket. Then obeys one command per stdin line, answering one JSON line on stdout:
 *
 * - `arm <status>`: from now on, each stream notes when it receives an event with that status;
 * - `collect <t0> <timeoutMs>`: waits (bounded) until every open stream got it; answers the
 *   receipt delays after `t0` (epoch ms, the moment the bench changed the status) as
 *   min/p50/p99/max (the first receipt is the way in: webhook, database, NOTIFY, hub);
 * - `close`: destroys every socket from the client side and exits.
 */
interface Config {
  port: number
  path: string
  tokens: string[]
  streams: number
  concurrency: number
}

interface Stream {
  req: http.ClientRequest
  buffer: string
  receivedAt?: number
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config
const now = () => performance.timeOrigin + performance.now()
const reply = (obj: unknown) => process.stdout.write(`${JSON.stringify(obj)}\n`)
const open: Stream[] = []
const failed: Record<string, number> = {}
let armed: string | undefined

function openOne(i: number): Promise<void> {
  return new Promise((resolve) => {
    const stream: Stream = { req: undefined as never, buffer: '' }
    let settled = false
    const settle = (outcome: 'open' | string) => {
      if (settled) return
      settled = true
      if (outcome === 'open') open.push(stream)
      else failed[outcome] = (failed[outcome] ?? 0) + 1
      resolve()
    }
    stream.req = http.get(
      {
        host: '127.0.0.1',
        port: config.port,
        path: config.path,
        agent: false,
        headers: { authorization: `Bearer ${config.tokens[i % config.tokens.length]}`, accept: 'text/event-stream' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume()
          settle(String(res.statusCode))
          return
        }
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          stream.buffer += chunk
          for (let end = stream.buffer.indexOf('\n\n'); end >= 0; end = stream.buffer.indexOf('\n\n')) {
            const event = stream.buffer.slice(0, end)
            stream.buffer = stream.buffer.slice(end + 2)
            if (!event.includes('data:')) continue
            settle('open') // the first event (the current status) came: the stream is live
            if (armed && stream.receivedAt === undefined && event.includes(`"status":"${armed}"`)) stream.receivedAt = now()
          }
        })
        res.on('error', () => settle('reset'))
      },
    )
    stream.req.on('error', (e: NodeJS.ErrnoException) => settle(e.code ?? 'error'))
    stream.req.setTimeout(30_000, () => {
      stream.req.destroy()
      settle('timeout')
    })
  })
}

let next = 0
await Promise.all(
  Array.from({ length: Math.min(config.concurrency, config.streams) }, async () => {
    while (next < config.streams) await openOne(next++)
  }),
)
for (const s of open) s.req.setTimeout(0)
reply({ opened: open.length, failed })

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0
for await (const line of readline.createInterface({ input: process.stdin })) {
  const [command, a, b] = line.trim().split(/\s+/)
  if (command === 'arm') {
    armed = a
    for (const s of open) delete s.receivedAt
    reply({ armed })
  } else if (command === 'collect') {
    const t0 = Number(a)
    const deadline = now() + Number(b)
    while (open.some((s) => s.receivedAt === undefined) && now() < deadline) await new Promise((r) => setTimeout(r, 20))
    const delays = open.flatMap((s) => (s.receivedAt === undefined ? [] : [s.receivedAt - t0])).sort((x, y) => x - y)
    reply({
      received: delays.length,
      of: open.length,
      min: delays[0] ?? 0,
      p50: percentile(delays, 50),
      p99: percentile(delays, 99),
      max: delays.at(-1) ?? 0,
    })
    armed = undefined
  } else if (command === 'close') {
    for (const s of open) s.req.destroy()
    reply({ closed: open.length })
    process.exit(0)
  }
}
