/** @type {import('@remix-run/dev').AppConfig} */
export default {
  // Remix v2 classic compiler. Code outside app/ (domain/, adapters/, db/) is bundled too.
  // Test files never live in app/routes (so /api/wa/test, a real route, is not ignored).
  ignoredRouteFiles: ['**/.*'],
  serverModuleFormat: 'esm',
  serverDependenciesToBundle: [],
  watchPaths: ['domain/**/*', 'adapters/**/*'],
  future: {
    v3_fetcherPersist: true,
    v3_relativeSplatPath: true,
    v3_throwAbortReason: true,
    v3_lazyRouteDiscovery: true,
    v3_singleFetch: false,
  },
}
