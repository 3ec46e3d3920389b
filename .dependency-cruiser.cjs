/**
 * The layering as a failing check (npm run lint):
 *   domain/      → only domain/ and zod (no Remix, Kysely, pg, node:crypto, fetch wrappers)
 *   adapters/    → domain/, db/ and vendor code, never app/
 *   app/routes/  → app/ and domain/, never an adapter, db/, Kysely or pg (routes call one use case
 *                  through the composition root, app/services.server.ts)
 *   app/         → anything else
 * Outside domain/, the domain is reached through its public surface only: a bounded context's
 * index.ts (domain/whatsapp/index.ts) and the ports (domain/ports/*.ts).
 * Every module is reachable from an entry point (no dead files); tests/config are not cruised.
 * tests/integration/layering.test.ts plants a violation of each rule and expects it to fail.
 */

// What starts a process or is loaded by Remix by convention: nothing imports these.
const ENTRY_POINTS = [
  '^app/(root|entry\\.server|entry\\.client)\\.tsx$',
  '^app/routes/',
  '^server/launch\\.mjs$',
  '^server/(start|token|ops|migrate|worker|compile-server)\\.ts$',
]

module.exports = {
  forbidden: [
    {
      name: 'domain-is-framework-free',
      severity: 'error',
      comment: 'domain/ may import only domain/ and zod',
      from: { path: '^domain/' },
      to: { pathNot: ['^domain/', '^node_modules/zod/', '^zod$'] },
    },
    {
      name: 'adapters-do-not-import-app',
      severity: 'error',
      from: { path: '^adapters/' },
      to: { path: '^app/' },
    },
    {
      name: 'domain-and-adapters-do-not-import-server-entry',
      severity: 'error',
      from: { path: '^(domain|adapters)/' },
      to: { path: '^server/' },
    },
    {
      name: 'routes-do-not-import-adapters-or-sql',
      severity: 'error',
      comment:
        'app/routes/ call use cases through app/services.server.ts: no adapter, no Kysely, no pg, no db/ (Kysely schema and migrations) (STYLE habit 5)',
      from: { path: '^app/routes/' },
      to: { path: ['^adapters/', '^db/', '^node_modules/(kysely|pg|pg-[^/]+|@types/pg)/', '^(kysely|pg)$'] },
    },
    {
      name: 'domain-only-through-its-public-surface',
      severity: 'error',
      comment: 'outside domain/, import a context through its index.ts (export what you need there) or a port',
      from: { pathNot: '^domain/' },
      to: { path: '^domain/', pathNot: ['^domain/[^/]+/index\\.ts$', '^domain/ports/[^/]+\\.ts$'] },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment:
        'every module is reachable from an entry point (a Remix route, root/entry files, a server/ entry): delete dead files',
      from: { path: ENTRY_POINTS },
      // domain/testing/: the in-memory fakes, reached from unit tests only (tests are not cruised).
      to: {
        path: '^(app|domain|adapters|db|server)/',
        pathNot: [...ENTRY_POINTS, '\\.d\\.ts$', '^domain/testing/'],
        reachable: false,
      },
    },
    {
      name: 'no-test-code-in-app',
      severity: 'error',
      from: { path: '^(app|domain|adapters|db|server)/', pathNot: '\\.test\\.tsx?$' },
      to: { path: '^tests/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Test files are not cruised. domain/testing/ is: excluding it would hide an import of a
    // fake from production code (the surface rule rejects it), and it must stay framework-free.
    exclude: { path: '\\.test\\.tsx?$' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
}
