/**
 * One app process of `npm run bench`, started by tests/bench/bench.ts as
 * `node --expose-gc --import tsx tests/bench/bench-server.ts` so that its CPU time, heap and RSS
 * are the app's alone (the harness, the load generator and the SSE clients run elsewhere).
 *
 * It serves the built Remix app exactly as server/start.ts does in simulator mode
 * (bootServices + createHttpApp), on 127.0.0.1 only, plus the bench's own routers
 * (tests/bench/baselines.ts): the no-op route in its copy of the build and the probe. None of
 * them exists in the production tree (decision 115).
 *
 * Env (besides the app's own): BENCH_PORT; BENCH_ROLE `simulator` (hosts the Green-API
 * simulator with BENCH_SIM_INSTANCES instances, reached over HTTP on loopback like the real
 * service, and counts the calls; no status refresher or job worker, and no load is sent to it),
 * or `primary` / `secondary` (the measured app processes, with no simulator of their own: the
 * instances carry the shared simulator origin, which they send to 127.0.0.1:PORT, the host's).
 * The simulator's own CPU and heap are then not the app's: with the simulator inside the
 * measured process, every upstream call of a live attempt was counted twice as app work.
 * Prints `ready <port>` on stdout once it listens.
 */
import type { Server } from 'node:http'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { GreenApiSimulator } from '../../adapters/green-api/simulator'
import { createHttpApp } from '../../server/http-app'
import { benchProbeRouter, upstreamCounter, withNoopRoute } from './baselines'

const root = path.resolve(import.meta.dirname, '../..')
const port = Number(process.env.BENCH_PORT)
const hostsSimulator = process.env.BENCH_ROLE === 'simulator'
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('bench-server needs --expose-gc (heap figures are after a full GC)')

const build = (await import(pathToFileURL(path.join(root, 'build/index.js')).href)) as { entry: { module: Record<string, any> } }
const entry = build.entry.module
const counter = upstreamCounter()
const booted = await entry.bootServices(
  hostsSimulator
    ? {
        port,
        simulatorInstances: Number(process.env.BENCH_SIM_INSTANCES ?? 20),
        reconcile: false,
        statusRefresh: false,
        jobWorker: false,
      }
    : // An empty simulator object: bootServices registers none of its instances and mounts no
      // router; every instance row already points at the host's simulator.
      {
        port,
        simulator: new GreenApiSimulator(),
        simulatorApiUrl: 'http://127.0.0.1:1/unused',
        simulatorInstances: 0,
        reconcile: false,
      },
)
const services = (globalThis as Record<symbol, any>)[Symbol.for('whatsapp-pro.services')]
// The simulator's documented rate limits would measure the simulator, not the app.
const simulator = hostsSimulator ? entry.bootedSimulator() : undefined
if (simulator) simulator.setRateLimitsEnabled(false)

const routers = [
  counter.router,
  benchProbeRouter({
    gc,
    services,
    simulator,
    counter,
    snapshotDir: process.env.BENCH_SNAPSHOT_DIR,
    profileDir: process.env.BENCH_PROFILE_DIR,
  }),
  ...booted.routers,
]
const app = createHttpApp({ build: withNoopRoute(build as never), routers })
const server = await new Promise<Server>((resolve) => {
  const s = app.listen(port, '127.0.0.1', () => resolve(s))
})
process.stdout.write(`ready ${port}\n`)

const stop = async () => {
  await new Promise<void>((r) => {
    server.close(() => r())
    server.closeAllConnections()
  })
  await entry.shutdownServices().catch(() => {})
  process.exit(0)
}
process.once('SIGTERM', () => void stop())
process.once('SIGINT', () => void stop())
