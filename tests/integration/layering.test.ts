import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = path.resolve(__dirname, '../..')

// What `npm run lint` cruises (package.json).
const LINT_TREE = ['app', 'domain', 'adapters', 'db', 'server']

interface Cruise {
  code: number
  out: string
  /** The `error <rule>: <from>[ → <to>]` lines of the text report, as `npm run lint` prints them. */
  violations: Array<{ rule: string; from: string; to?: string }>
}

/** `depcruise` as `npm run lint` runs it: the same command line, exit code and report. */
async function cruise(files: string[]): Promise<Cruise> {
  let code = 0
  let out: string
  try {
    ;({ stdout: out } = await run(
      process.execPath,
      [path.join(root, 'node_modules/.bin/depcruise'), '--config', '.dependency-cruiser.cjs', ...files],
      { cwd: root },
    ))
  } catch (e) {
    const err = e as { code: number; stdout: string }
    code = err.code
    out = err.stdout
  }
  const violations = [...out.matchAll(/^\s+error ([\w-]+): (\S+)(?: → (\S+))?$/gm)].map(([, rule, from, to]) => ({
    rule: rule!,
    from: from!,
    to,
  }))
  return { code, out, violations }
}

/**
 * Writes a fixture into the source tree dated 1970: an app process another test starts checks
 * whether build/ is older than the sources and rebuilds if so, which, with test files running
 * side by side, would rebuild under the other files' feet (and fail on the fixture removed
 * mid-build). Dated in the past, the fixture never makes the build look stale.
 */
function plant(full: string, source: string): void {
  fs.writeFileSync(full, source)
  fs.utimesSync(full, 0, 0)
}

// The dependency rule of `npm run lint` is proven to fail on forbidden imports: every fixture
// below is written into its layer, the tree is cruised once as `npm run lint` cruises it (one
// depcruise process, not one per fixture: each start costs about a second, more under load),
// and each case finds its own violation, attributed to its own file, in that one report.
describe('layering rule (dependency-cruiser)', () => {
  const cases = [
    {
      file: 'domain/__layering_fixture_kysely.ts',
      source: "import { Kysely } from 'kysely'\nexport const x = Kysely\n",
      rule: 'domain-is-framework-free',
    },
    {
      file: 'domain/__layering_fixture_crypto.ts',
      source: "import { randomBytes } from 'node:crypto'\nexport const x = randomBytes\n",
      rule: 'domain-is-framework-free',
    },
    {
      file: 'domain/__layering_fixture_remix.ts',
      source: "import { json } from '@remix-run/node'\nexport const x = json\n",
      rule: 'domain-is-framework-free',
    },
    {
      file: 'adapters/__layering_fixture_app.ts',
      source: "import { getServices } from '../app/services.server'\nexport const x = getServices\n",
      rule: 'adapters-do-not-import-app',
    },
    // Routes call use cases through the composition root: no adapter, no Kysely, no pg.
    {
      file: 'app/routes/__layering_fixture_adapter.ts',
      source:
        "import { KyselyFeatureStore } from '../../adapters/kysely/kysely-feature-store'\nexport const x = KyselyFeatureStore\n",
      rule: 'routes-do-not-import-adapters-or-sql',
    },
    {
      file: 'app/routes/__layering_fixture_kysely.ts',
      source: "import { sql } from 'kysely'\nexport const x = sql\n",
      rule: 'routes-do-not-import-adapters-or-sql',
    },
    {
      file: 'app/routes/__layering_fixture_pg.ts',
      source: "import pg from 'pg'\nexport const x = pg.Pool\n",
      rule: 'routes-do-not-import-adapters-or-sql',
    },
    {
      file: 'app/routes/__layering_fixture_db.ts',
      source: "import { migrateToLatest } from '../../db/migrate'\nexport const x = migrateToLatest\n",
      rule: 'routes-do-not-import-adapters-or-sql',
    },
    // Outside domain/, only a context's index.ts and the ports.
    {
      file: 'app/utils/__layering_fixture_internal.ts',
      source: "import { credentialsOf } from '../../domain/whatsapp/use-case-helpers'\nexport const x = credentialsOf\n",
      rule: 'domain-only-through-its-public-surface',
    },
    {
      file: 'adapters/__layering_fixture_internal.ts',
      source: "import { planStatusUpdate } from '../domain/whatsapp/status-update'\nexport const x = planStatusUpdate\n",
      rule: 'domain-only-through-its-public-surface',
    },
    // The in-memory fakes are for tests: production code importing one is caught, not hidden.
    {
      file: 'app/utils/__layering_fixture_fake.ts',
      source:
        "import { FakeWhatsAppProvider } from '../../domain/testing/fake-whatsapp-provider'\nexport const x = FakeWhatsAppProvider\n",
      rule: 'domain-only-through-its-public-surface',
    },
  ]

  // The public surface itself is allowed: a context's index.ts and a port.
  const publicSurface = {
    file: 'adapters/__layering_fixture_public.ts',
    source:
      "import { planStatusUpdate } from '../domain/whatsapp'\nimport type { Clock } from '../domain/ports/clock'\nexport const x: [typeof planStatusUpdate, Clock | null] = [planStatusUpdate, null]\n",
  }
  // no-orphans: a module that no entry point (route, root/entry files, server/ entry) reaches is
  // dead code. The tree is cruised as `npm run lint` does, so the real entry points are in the graph.
  const dead = {
    file: 'adapters/kysely/__layering_fixture_dead.ts',
    source: "import { createPgPool } from '../postgres/pg-pool'\nexport const x = createPgPool\n",
  }

  let clean: Cruise
  let planted: Cruise
  beforeAll(async () => {
    // The real tree first, with nothing planted: the same command must pass on it.
    clean = await cruise(LINT_TREE)
    const fixtures = [...cases, publicSurface, dead]
    try {
      for (const f of fixtures) plant(path.join(root, f.file), f.source)
      planted = await cruise(LINT_TREE)
    } finally {
      for (const f of fixtures) fs.rmSync(path.join(root, f.file), { force: true })
    }
  }, 60_000)

  it('fails (exit code = number of errors) with the fixtures planted', () => {
    expect(planted.violations.length).toBeGreaterThan(0)
    expect(planted.code).toBe(planted.violations.length)
    expect(planted.out).toMatch(
      new RegExp(`x ${planted.violations.length} dependency violations \\(${planted.violations.length} errors`),
    )
  })

  for (const c of cases) {
    it(`rejects ${c.file.split('__layering_fixture_')[1]} in ${c.file.slice(0, c.file.lastIndexOf('/'))}/`, () => {
      expect(planted.violations).toContainEqual(expect.objectContaining({ rule: c.rule, from: c.file }))
    })
  }

  it('accepts domain/whatsapp/index.ts and domain/ports/* from outside domain/', () => {
    // Cruised in the same report: only the surface rule could object to these imports.
    expect(planted.violations.filter((v) => v.from === publicSurface.file).map((v) => v.rule)).not.toContain(
      'domain-only-through-its-public-surface',
    )
    // It is in the report at all (an unparsed or missing file would pass the line above).
    expect(planted.violations).toContainEqual({ rule: 'no-orphans', from: publicSurface.file, to: undefined })
  })

  it('rejects a module no entry point reaches (no-orphans)', () => {
    expect(planted.violations).toContainEqual({ rule: 'no-orphans', from: dead.file, to: undefined })
  })

  it('accepts the real tree', () => {
    expect(clean.out).toContain('no dependency violations found')
    expect(clean.violations).toEqual([])
    expect(clean.code).toBe(0)
    // Nothing in the planted run comes from a real module either: every violation is a fixture's.
    expect(planted.violations.filter((v) => !v.from.includes('__layering_fixture_'))).toEqual([])
  })
})
