// The one way every npm script enters the server: `node server/launch.mjs <entry> [args…]`.
//
// Production (NODE_ENV=production) runs only what `npm run build` compiled into build/server/
// with plain `node`: no tsx, no @remix-run/dev, nothing from devDependencies. Development runs
// the TypeScript sources through tsx (a devDependency), so a changed file needs no build step.
// Plain JavaScript on purpose: this file must run before anything is compiled.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ENTRIES = {
  start: 'server/start.ts',
  token: 'server/token.ts',
  ops: 'server/ops.ts',
  migrate: 'server/migrate.ts',
  worker: 'server/worker.ts',
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const entry = process.argv[2]
if (!entry || !(entry in ENTRIES)) {
  process.stderr.write(`Usage: node server/launch.mjs <${Object.keys(ENTRIES).join('|')}> [args…]\n`)
  process.exit(2)
}
// The entry sees its own arguments at argv[2…], as if it had been started directly.
process.argv.splice(2, 1)

if (process.env.NODE_ENV === 'production') {
  const compiled = path.join(root, 'build', 'server', `${entry}.js`)
  if (!fs.existsSync(compiled)) {
    process.stderr.write(
      `The production build is missing (${path.relative(root, compiled)}).\n` +
        'Run `npm run build` first (with devDependencies installed), then start again.\n',
    )
    process.exit(1)
  }
  process.argv[1] = compiled
  await import(pathToFileURL(compiled).href)
} else {
  let register
  try {
    ;({ register } = await import('tsx/esm/api'))
  } catch {
    process.stderr.write(
      'tsx is not installed (devDependencies were omitted). Either run `npm install`, or build and\n' +
        'run the production server: `npm run build && NODE_ENV=production npm start`.\n',
    )
    process.exit(1)
  }
  register()
  const source = path.join(root, ENTRIES[entry])
  process.argv[1] = source
  await import(pathToFileURL(source).href)
}
