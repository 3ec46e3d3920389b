import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = path.resolve(__dirname, '../..')

async function cruise(files: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [path.join(root, 'node_modules/.bin/depcruise'), '--config', '.dependency-cruiser.cjs', ...files], { cwd: root })
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
    { file: 'domain/__layering_fixture_kysely.ts', source: "import { Kysely } from 'kysely'\nexport const x = Kysely\n", rule: 'domain-is-framework-free' },
    { file: 'domain/__layering_fixture_crypto.ts', source: "import { randomBytes } from 'node:crypto'\nexport const x = randomBytes\n", rule: 'domain-is-framework-free' },
    { file: 'domain/__layering_fixture_remix.ts', source: "import { json } from '@remix-run/node'\nexport const x = json\n", rule: 'domain-is-framework-free' },
    { file: 'adapters/__layering_fixture_app.ts', source: "import { getServices } from '../app/services.server'\nexport const x = getServices\n", rule: 'adapters-do-not-import-app' },
  ]
  for (const c of cases) {
    it(`rejects ${c.file.split('__layering_fixture_')[1]} in ${c.file.split('/')[0]}/`, async () => {
      const full = path.join(root, c.file)
      fs.writeFileSync(full, c.source)
      try {
        const { code, out } = await cruise([c.file])
        expect(code).not.toBe(0)
        expect(out).toContain(c.rule)
      } finally {
        fs.rmSync(full, { force: true })
      }
    })
  }

  it('accepts the real tree', async () => {
    const { code, out } = await cruise(['domain', 'adapters', 'app'])
    expect(out).toContain('no dependency violations found')
    expect(code).toBe(0)
  })
})
