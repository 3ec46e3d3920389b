import fs from 'node:fs'
import path from 'node:path'

const root = path.resolve(__dirname, '../..')

/**
 * The node arguments that run a server entry point (server/<entry>.ts) in a child process: the
 * compiled build/server/<entry>.js the global setup built from this run's sources (what
 * production runs; plain node starts it in about half the time tsx takes to compile the graph
 * again in every child), or the sources through tsx when the build was skipped
 * (VITEST_SKIP_BUILD=1: a compiled file could be older than the sources).
 */
export function serverEntryArgs(entry: 'start' | 'ops' | 'token'): string[] {
  const compiled = path.join(root, 'build', 'server', `${entry}.js`)
  if (process.env.VITEST_SKIP_BUILD !== '1' && fs.existsSync(compiled)) return [compiled]
  return ['--import', 'tsx', path.join(root, 'server', `${entry}.ts`)]
}
