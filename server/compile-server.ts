import path from 'node:path'
import { build } from 'esbuild'
import { projectRoot } from './runtime'

/**
 * Second half of `npm run build` (after `remix build`): compiles the process entry points into
 * build/server/*.js for plain `node` in production. Packages stay external (installed by
 * `npm ci --omit=dev`), so the output is our code only; migrations come along through their
 * static index (db/migrations/index.ts). server/launch.mjs runs these when NODE_ENV=production.
 */
const SERVER_ENTRIES = {
  start: 'server/start.ts',
  token: 'server/token.ts',
  ops: 'server/ops.ts',
  migrate: 'server/migrate.ts',
  worker: 'server/worker.ts',
} as const

const started = Date.now()
await build({
  absWorkingDir: projectRoot,
  entryPoints: Object.fromEntries(Object.entries(SERVER_ENTRIES).map(([name, file]) => [name, path.join(projectRoot, file)])),
  outdir: path.join(projectRoot, 'build', 'server'),
  bundle: true,
  splitting: true, // the CLI's lazily imported commands become chunks, shared between entries
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
})
process.stderr.write(`Compiled the server entry points into build/server/ in ${Date.now() - started} ms\n`)
