import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = path.resolve(__dirname, '../..')

// What `npm run lint` cruises (package.json).
const LINT_TREE = ['app', 'domain', 'adapters', 'db', 'server']

async function cruise(files: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(
      process.execPath,
      [path.join(root, 'node_modules/.bin/depcruise'), '--config', '.dependency-cruiser.cjs', ...files],
      { cwd: root },
    )
    return { code: 0, out: stdout }
  } catch (e) {
    const err = e as { code: number; stdout: string }
    return { code: err.code, out: err.stdout }
  }
}

// The dependency rule of `npm run lint` is proven to fail on forbidden imports: fixtures are
// written into the layer for the duration of one check, then removed.
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
  for (const c of cases) {
    it(`rejects ${c.file.split('__layering_fixture_')[1]} in ${c.file.slice(0, c.file.lastIndexOf('/'))}/`, async () => {
      const full = path.join(root, c.file)
      plant(full, c.source)
      try {
        const { code, out } = await cruise([c.file])
        expect(code).not.toBe(0)
        expect(out).toContain(c.rule)
      } finally {
        fs.rmSync(full, { force: true })
      }
    })
  }

  // The public surface itself is allowed: a context's index.ts and a port.
  it('accepts domain/whatsapp/index.ts and domain/ports/* from outside domain/', async () => {
    const file = 'adapters/__layering_fixture_public.ts'
    plant(
      path.join(root, file),
      "import { planStatusUpdate } from '../domain/whatsapp'\nimport type { Clock } from '../domain/ports/clock'\nexport const x: [typeof planStatusUpdate, Clock | null] = [planStatusUpdate, null]\n",
    )
    try {
      // Cruised with its importer's tree, so only the surface rule can object.
      const { out } = await cruise([file])
      expect(out).not.toContain('domain-only-through-its-public-surface')
    } finally {
      fs.rmSync(path.join(root, file), { force: true })
    }
  })

  // no-orphans: a module that no entry point (route, root/entry files, server/ entry) reaches is
  // dead code. Cruised as `npm run lint` does, so the real entry points are in the graph.
  it('rejects a module no entry point reaches (no-orphans)', async () => {
    const file = 'adapters/kysely/__layering_fixture_dead.ts'
    plant(path.join(root, file), "import { createPgPool } from '../postgres/pg-pool'\nexport const x = createPgPool\n")
    try {
      const { code, out } = await cruise(LINT_TREE)
      expect(code).not.toBe(0)
      expect(out).toMatch(/no-orphans[^\n]*__layering_fixture_dead\.ts/)
    } finally {
      fs.rmSync(path.join(root, file), { force: true })
    }
  })

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

  it('accepts the real tree', async () => {
    const { code, out } = await cruise(LINT_TREE)
    expect(out).toContain('no dependency violations found')
    expect(code).toBe(0)
  })
})
