import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ServerBuild } from '@remix-run/node'
import type { AppServerEntry } from '../../app/boot.server'

export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789-abcdefghijklmnop'
// Two keys so rotation paths are exercised; k2 is current.
export const TEST_ENCRYPTION_KEYS = `k1:${Buffer.alloc(32, 1).toString('base64')},k2:${Buffer.alloc(32, 2).toString('base64')}`

export interface TestApp {
  url: string
  build: ServerBuild
  /** The build's server entry (boot, shutdown, the booted simulator). */
  entry: AppServerEntry
  /** The node server (a test watching what it answers, e.g. that closed streams are collected). */
  server: Server
  close(): Promise<void>
}

/**
 * Starts the BUILT app (build/index.js, made by the global setup) in this process on a random
 * port, against this test file's database. Outgoing Green-API traffic goes through MSW, which
 * lets 127.0.0.1 pass through, so tests call the app over real HTTP.
 */
export async function startTestApp(
  options: { env?: Record<string, string>; bootOptions?: Record<string, unknown> } = {},
): Promise<TestApp> {
  Object.assign(process.env, {
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ...options.env,
  })
  const buildPath = path.resolve(__dirname, '../../build/index.js')
  const build = (await import(/* @vite-ignore */ pathToFileURL(buildPath).href)) as ServerBuild
  const { createHttpApp } = await import('../../server/http-app')
  const { appEntryOf } = await import('../../server/app-entry')
  const entry = appEntryOf(build)
  // Port 0 first so the app knows its own origin before routers are built.
  const booted = await entry.bootServices({ port: 0, ...options.bootOptions })
  const app = createHttpApp({ build, routers: booted.routers })
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  // The app shares this process's event loop with the test. A test that computes for seconds
  // (ajv compiling the OpenAPI schemas, say) delays undici's idle-socket timer (4 s) and the
  // server's keep-alive timer (5 s) alike; when both are due, the server may close the socket
  // undici has just reused, and the next fetch fails with ECONNRESET (seen in api-openapi under
  // load). The server keeps idle sockets longer than any such pause; the client closes first.
  server.keepAliveTimeout = 60_000
  server.headersTimeout = 61_000
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    build,
    entry,
    server,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await entry.shutdownServices()
    },
  }
}
