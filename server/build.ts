import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { projectRoot } from './runtime'

// `remix build` on demand, shared by `npm start` and `npm run bench`.
export const buildFile = path.join(projectRoot, 'build', 'index.js')

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue
    const full = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs)
  }
  return newest
}

/**
 * Builds when build/ is missing or older than app/, domain/, adapters/ or db/. Runs as a child
 * process so it overlaps with PostgreSQL's start-up on a first run.
 */
export function buildIfNeeded(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<void> {
  const sources = ['app', 'domain', 'adapters', 'db'].map((d) => path.join(projectRoot, d)).filter((d) => fs.existsSync(d))
  const builtAt = fs.existsSync(buildFile) ? fs.statSync(buildFile).mtimeMs : 0
  if (builtAt > 0 && Math.max(...sources.map(newestMtime)) <= builtAt) return Promise.resolve()
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
