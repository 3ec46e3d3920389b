import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ENV_VARIABLES } from '../../app/utils/env.server'
import { SERVER_ENV_VARIABLES } from '../../server/runtime'

/**
 * .env.example is the one list of configuration a stranger reads: it must name every variable
 * the code reads, and nothing else. The code's list is the zod schemas' keys (the app's, the server's)
 * plus every `process.env.NAME` read in app/ server/ adapters/ db/. A variable added to either
 * without a line in .env.example fails here, by name.
 */

const root = path.resolve(__dirname, '../..')
const SOURCE_DIRS = ['app', 'server', 'adapters', 'db']

/** Read from the OS, not configuration: the operator's login name for the audit actor. */
const NOT_CONFIGURATION = new Set(['USER', 'LOGNAME'])

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return /\.(ts|tsx|js|mjs|cjs)$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [full] : []
  })
}

/** `process.env.NAME`, `process.env['NAME']` and `const { NAME } = process.env`, with where each is read. */
function processEnvReads(): Map<string, string> {
  const reads = new Map<string, string>()
  for (const file of SOURCE_DIRS.flatMap((d) => sourceFiles(path.join(root, d)))) {
    const text = fs.readFileSync(file, 'utf8')
    const names = [
      ...[...text.matchAll(/process\.env\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!),
      ...[...text.matchAll(/process\.env\[\s*['"`]([A-Za-z_][A-Za-z0-9_]*)['"`]\s*\]/g)].map((m) => m[1]!),
      ...[...text.matchAll(/\{([^{}]*)\}\s*=\s*process\.env\b/g)].flatMap((m) =>
        m[1]!
          .split(',')
          .map((part) => part.split(':')[0]!.replace(/=.*$/, '').trim())
          .filter((n) => /^[A-Za-z_]\w*$/.test(n)),
      ),
    ]
    for (const name of names) if (!reads.has(name)) reads.set(name, path.relative(root, file))
  }
  return reads
}

interface ExampleEntry {
  name: string
  value: string
  commentedOut: boolean
  /** The comment block above the entry (shared by a group of entries). */
  doc: string
  line: number
}

const ENTRY = /^(# )?([A-Z][A-Z0-9_]*)=(.*)$/

function exampleEntries(): ExampleEntry[] {
  const lines = fs.readFileSync(path.join(root, '.env.example'), 'utf8').split('\n')
  return lines.flatMap((text, index) => {
    const m = ENTRY.exec(text)
    if (!m) return []
    let i = index - 1
    while (i >= 0 && ENTRY.test(lines[i]!)) i -= 1
    const doc: string[] = []
    for (; i >= 0 && lines[i]!.startsWith('#'); i -= 1) doc.unshift(lines[i]!)
    return [{ name: m[2]!, value: m[3]!, commentedOut: m[1] !== undefined, doc: doc.join('\n'), line: index + 1 }]
  })
}

/**
 * Where process.env may be touched: the two schemas' modules, the CLI's stream/env defaults, and
 * three process edges (the launcher before anything is compiled, the build handing its
 * environment to `remix build`, `npm run dev` defaulting LOG_FORMAT for the app's schema).
 */
const READS_PROCESS_ENV = new Set([
  'app/utils/env.server.ts',
  'server/runtime.ts',
  'server/cli-io.ts',
  'server/launch.mjs',
  'server/build.ts',
  'server/start.ts',
])

describe('configuration is read in one place', () => {
  it('only the env schemas (and the process edges) touch process.env', () => {
    const offenders = SOURCE_DIRS.flatMap((d) => sourceFiles(path.join(root, d)))
      .map((file) => path.relative(root, file))
      .filter((file) => !READS_PROCESS_ENV.has(file))
      .filter((file) =>
        /process\.env\b/.test(fs.readFileSync(path.join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')),
      )
    expect(offenders, 'read configuration through app/utils/env.server.ts (the app) or server/runtime.ts (the process)').toEqual(
      [],
    )
  })
})

describe('.env.example', () => {
  const entries = exampleEntries()
  const listed = entries.map((e) => e.name)
  const reads = processEnvReads()
  const read = new Set([...ENV_VARIABLES, ...SERVER_ENV_VARIABLES, ...reads.keys()].filter((n) => !NOT_CONFIGURATION.has(n)))

  it('lists every variable the code reads', () => {
    // Sanity: the collection sees the schemas and the server's own reads.
    expect(read).toContain('JWT_SECRET')
    expect(read).toContain('OAUTH_GITHUB_CLIENT_ID')
    expect(read).toContain('TRUST_PROXY')
    const missing = [...read].filter((name) => !listed.includes(name)).sort()
    expect(
      missing.map((name) => `${name} (read in ${reads.get(name) ?? 'a zod env schema'})`),
      'variables read by the code but absent from .env.example — add each with its default and whether production requires it',
    ).toEqual([])
  })

  it('lists nothing the code does not read, each variable once', () => {
    const unread = listed.filter((name) => !read.has(name))
    expect(unread, 'variables in .env.example that nothing reads').toEqual([])
    const duplicates = listed.filter((name, i) => listed.indexOf(name) !== i)
    expect(duplicates, 'variables listed twice').toEqual([])
  })

  it('documents each variable: its default, whether production requires it, how to make the secrets', () => {
    const undocumented = entries
      .filter((e) => !/Default/.test(e.doc) || !/Production/.test(e.doc))
      .map((e) => `${e.name} (line ${e.line})`)
    expect(undocumented, 'entries whose comment does not say "Default…" and "Production…"').toEqual([])
    for (const name of ['JWT_SECRET', 'WA_ENCRYPTION_KEYS']) {
      expect(entries.find((e) => e.name === name)?.doc, name).toContain('npm run ops -- secrets generate')
    }
  })

  it('holds no secret: values are commented out or empty, secrets only as <placeholders>', () => {
    const setValues = entries.filter((e) => !e.commentedOut && e.value !== '').map((e) => e.name)
    expect(setValues, 'uncommented entries with a value (leave them empty or comment them out)').toEqual([])
    const secretLooking = entries
      .filter((e) => /SECRET|TOKEN|PASSWORD|_KEYS$/.test(e.name) && e.value !== '' && !/^<[^>]+>$/.test(e.value))
      .map((e) => e.name)
    expect(secretLooking, 'secret variables with a value other than a <placeholder>').toEqual([])
  })
})
