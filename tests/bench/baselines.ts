/**
 * What `npm run bench` mounts on its own app processes (tests/bench/bench-server.ts), never in
 * the production tree: a production build must not carry a route that does nothing, a probe of
 * the process's heap, or a switch on the simulator, nor an env variable that turns them on
 * (decision 115).
 *
 * - `withNoopRoute(build)`: the app's own Remix build plus one resource route that does nothing,
 *   so the no-op figure measures "a Remix no-op route in the same server" (docs/benchmarks.md): the same
 *   express shell, middleware and Remix request handling as /api/wa/qr/status.
 * - `upstreamCounter()`: an express router in front of the simulator's Green-API surface that
 *   counts the calls per instance (the simulator itself is untouched, served over HTTP).
 * - `benchProbeRouter(…)`: the process's CPU time, heap after a full GC, RSS and open SSE
 *   streams, and the simulator switches the bench needs (link a phone, set a state).
 */
import fs from 'node:fs'
import { Session } from 'node:inspector/promises'
import path from 'node:path'
import v8 from 'node:v8'
import type { ServerBuild } from '@remix-run/node'
import express, { type Router } from 'express'
import { DEFAULT_SIMULATOR_MOUNT_PATH } from '../../adapters/green-api/simulator'

export const NOOP_PATH = '/bench/noop'

/** The app's build with a no-op resource route at /bench/noop (this process only). */
export function withNoopRoute(build: ServerBuild): ServerBuild {
  const id = 'bench/noop'
  const loader = () => Response.json({ ok: true }, { headers: { 'Cache-Control': 'no-store' } })
  return {
    ...build,
    routes: {
      ...build.routes,
      [id]: {
        id,
        parentId: 'root',
        path: NOOP_PATH.slice(1),
        index: undefined,
        caseSensitive: undefined,
        module: { loader } as never,
      },
    },
  }
}

export const PROBE_PATH = '/bench/probe'

/** One process's figures at one moment (GET /bench/probe[?gc=1]). */
export interface ProbeReading {
  /** User + system CPU time of the process since it started, in microseconds. */
  cpuMicros: number
  /** Heap used, after a full GC when asked (`?gc=1`). */
  heapUsed: number
  rss: number
  /** Open SSE streams of this process (the app's own slot count). */
  sseOpen: number
  /** Green-API calls received by this process's simulator, per instance id (primary only). */
  upstream: Record<string, number>
  /** With `?checks=1`: when each instance's state was asked (`getStateInstance`, epoch ms). */
  stateChecks?: Record<string, number[]>
}

export interface UpstreamCounter {
  router: { path: string; router: Router }
  counts: Map<string, number>
  stateChecks: Map<string, number[]>
}

/** Counts `{mount}/waInstance{id}/{method}/{token}` calls per instance, then lets the simulator answer. */
export function upstreamCounter(): UpstreamCounter {
  const counts = new Map<string, number>()
  const stateChecks = new Map<string, number[]>()
  const router = express.Router()
  router.use((req, _res, next) => {
    const call = /^\/waInstance(\d+)\/(\w+)/.exec(req.path)
    if (call) {
      const [, id, method] = call as unknown as [string, string, string]
      counts.set(id, (counts.get(id) ?? 0) + 1)
      if (method === 'getStateInstance') {
        const times = stateChecks.get(id) ?? []
        times.push(Date.now())
        stateChecks.set(id, times)
      }
    }
    next()
  })
  return { router: { path: DEFAULT_SIMULATOR_MOUNT_PATH, router }, counts, stateChecks }
}

interface ProbedServices {
  eventStreams: { open: number }
}

interface ProbedSimulator {
  authorize(instanceId: string, phoneE164?: string): void
  setState(instanceId: string, state: string | null): void
  flushWebhooks(): Promise<void>
}

export function benchProbeRouter(deps: {
  gc: () => void
  services: ProbedServices
  simulator: ProbedSimulator | undefined
  counter: UpstreamCounter
  /** Where `?snapshot=<name>` writes heap snapshots (BENCH_SNAPSHOT_DIR); none without it. */
  snapshotDir?: string | undefined
  /** Where `?profile=<name>` writes the CPU profile begun by `?profile=start` (BENCH_PROFILE_DIR). */
  profileDir?: string | undefined
}): { path: string; router: Router } {
  const router = express.Router()
  router.use(express.json())
  let profiler: Session | undefined
  // `npm run bench -- --cpu-profile rotation1000`: V8's sampling profiler over one phase only.
  router.post('/profile', async (req, res) => {
    const name = typeof req.query.name === 'string' ? req.query.name : ''
    if (!deps.profileDir || !/^[\w-]{1,64}$/.test(name))
      return void res.status(400).json({ ok: false, error: 'VALIDATION_FAILED', message: 'name' })
    if (name === 'start') {
      profiler = new Session()
      profiler.connect()
      await profiler.post('Profiler.enable')
      await profiler.post('Profiler.start')
      return void res.json({ ok: true })
    }
    if (!profiler) return void res.status(409).json({ ok: false, error: 'CONFLICT', message: 'not started' })
    const { profile } = await profiler.post('Profiler.stop')
    profiler.disconnect()
    profiler = undefined
    fs.mkdirSync(deps.profileDir, { recursive: true })
    fs.writeFileSync(path.join(deps.profileDir, `${name}.cpuprofile`), JSON.stringify(profile))
    res.json({ ok: true })
  })
  router.get('/probe', (req, res) => {
    if (req.query.gc === '1') deps.gc()
    // `npm run bench -- --heap-snapshots`: a name, written under the bench's own directory only.
    const snapshot = typeof req.query.snapshot === 'string' ? req.query.snapshot : undefined
    if (snapshot && deps.snapshotDir && /^[\w-]{1,64}$/.test(snapshot)) {
      fs.mkdirSync(deps.snapshotDir, { recursive: true })
      v8.writeHeapSnapshot(path.join(deps.snapshotDir, `${snapshot}.heapsnapshot`))
    }
    const cpu = process.cpuUsage()
    const memory = process.memoryUsage()
    const reading: ProbeReading = {
      cpuMicros: cpu.user + cpu.system,
      heapUsed: memory.heapUsed,
      rss: memory.rss,
      sseOpen: deps.services.eventStreams.open,
      upstream: Object.fromEntries(deps.counter.counts),
      ...(req.query.checks === '1' ? { stateChecks: Object.fromEntries(deps.counter.stateChecks) } : {}),
    }
    res.set('Cache-Control', 'no-store').json(reading)
  })
  // The simulated phone's side of the bench: link instances, change their state (webhooks fire).
  router.post('/sim', async (req, res) => {
    const sim = deps.simulator
    const body = req.body as { instanceIds?: string[]; authorize?: boolean; state?: string }
    if (!sim || !Array.isArray(body.instanceIds))
      return void res.status(400).json({ ok: false, error: 'VALIDATION_FAILED', message: 'instanceIds' })
    try {
      for (const id of body.instanceIds) {
        // One phone number per instance (+336 and the id's last 8 digits).
        if (body.authorize) sim.authorize(id, `+336${id.slice(-8).padStart(8, '0')}`)
        else sim.setState(id, body.state ?? 'authorized')
      }
    } catch (e) {
      return void res
        .status(400)
        .json({ ok: false, error: 'VALIDATION_FAILED', message: e instanceof Error ? e.message : 'simulator' })
    }
    const at = performance.timeOrigin + performance.now()
    // Linking: answer once the app has been told (bounded batches, not 1000 webhooks at once).
    if (body.authorize) await sim.flushWebhooks()
    res.json({ ok: true, at })
  })
  return { path: '/bench', router }
}
