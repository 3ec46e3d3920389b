/**
 * The layering as a failing check (npm run lint):
 *   domain/   → only domain/ and zod (no Remix, Kysely, pg, node:crypto, fetch wrappers)
 *   adapters/ → domain/, db/ and vendor code, never app/
 *   app/      → anything
 */
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
      name: 'no-test-code-in-app',
      severity: 'error',
      from: { path: '^(app|domain|adapters|db|server)/', pathNot: '\\.test\\.tsx?$' },
      to: { path: '^tests/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(\\.test\\.tsx?$|^domain/testing/)' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
}
