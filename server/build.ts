import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { projectRoot } from './runtime'

// `remix build` on demand, shared by `npm start` and `npm run bench`.
export const buildFile = path.join(projectRoot, 'build', 'index.js')

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    // launch.mjs is not compiled (it runs before anything is); an image copies it on its own.
    if (entry.name === 'node_modules' || entry.name.startsWith('.') || entry.name === 'launch.mjs') continue
    const full = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs)
  }
  return newest
}

const APP_SOURCES = ['app', 'domain', 'adapters', 'db']

/** `missing`, `stale` (a source is newer than the build) or `current`. Sources absent (an image with build/ only) count as current. */
function remixBuildState(sources: string[] = APP_SOURCES): 'missing' | 'stale' | 'current' {
  if (!fs.existsSync(buildFile)) return 'missing'
  const builtAt = fs.statSync(buildFile).mtimeMs
  const dirs = sources.map((d) => path.join(projectRoot, d)).filter((d) => fs.existsSync(d))
  return dirs.length > 0 && Math.max(...dirs.map(newestMtime)) > builtAt ? 'stale' : 'current'
}

/**
 * Production serves only what `npm run build` made: a missing or stale build is a clear error
 * naming the command, never a build at run time (devDependencies are not installed there).
 */
export function assertProductionBuild(): void {
  const state = remixBuildState([...APP_SOURCES, 'server'])
  if (state === 'current') return
  throw new Error(
    state === 'missing'
      ? `The production build is missing (${path.relative(projectRoot, buildFile)}). Run \`npm run build\`, then start again.`
      : 'The production build is older than the sources (app/, domain/, adapters/, db/ or server/ changed since). Run `npm run build`, then start again.',
  )
}

/**
 * Development: builds when build/ is missing or older than app/, domain/, adapters/ or db/. Runs
 * as a child process so it overlaps with PostgreSQL's start-up on a first run.
 */
export function buildIfNeeded(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<void> {
  if (remixBuildState() === 'current') return Promise.resolve()
  log('Building the app (remix build)…')
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(projectRoot, 'node_modules/@remix-run/dev/dist/cli.js'), 'build'], {
      cwd: projectRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production' },
    })
    let errors = ''
    child.stderr.on('data', (c) => (errors += String(c)))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`remix build failed:\n${errors.slice(-2000)}`))))
  })
}
