import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ServerBuild } from '@remix-run/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NOOP_PATH, withNoopRoute } from '../bench/baselines'
import { TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET } from '../utils/app'

/**
 * The Remix handler is made once per build object (server/http-app.ts: given a build function,
 * Remix derived the route tree again on every request), so what `npm run dev` relies on must
 * still hold: a new build object (a rebuild) is served from the next request on, with its routes.
 */
let server: Server
let url = ''
let current: ServerBuild
let shutdown: () => Promise<void>

beforeAll(async () => {
  Object.assign(process.env, { NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS })
  process.env.LOG_LEVEL ??= 'silent'
  const build = (await import(pathToFileURL(path.resolve(__dirname, '../../build/index.js')).href)) as ServerBuild
  const { createHttpApp } = await import('../../server/http-app')
  const { appEntryOf } = await import('../../server/app-entry')
  const entry = appEntryOf(build)
  const booted = await entry.bootServices({ port: 0 })
  shutdown = () => entry.shutdownServices()
  current = build
  const app = createHttpApp({ build: () => current, routers: booted.routers })
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server?.close(() => resolve())
    server?.closeAllConnections()
  })
  await shutdown?.()
})

describe('a build function (development)', () => {
  it('serves the build it returns now: a route added by a rebuild answers, and goes away with it', async () => {
    const original = current
    expect((await fetch(`${url}${NOOP_PATH}`)).status).toBe(404)
    current = withNoopRoute(original)
    const added = await fetch(`${url}${NOOP_PATH}`)
    expect(added.status).toBe(200)
    expect(await added.json()).toEqual({ ok: true })
    current = original
    expect((await fetch(`${url}${NOOP_PATH}`)).status).toBe(404)
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
  })
})
