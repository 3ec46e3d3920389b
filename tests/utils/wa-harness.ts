import { afterAll, afterEach, beforeAll } from 'vitest'
import { GreenApiSimulator, type GreenApiSimulatorOptions } from '../../adapters/green-api/simulator'
import { GREEN_API_TEST_PARTNER_URL, setupMockServer, type MockServer } from '../mocks'
import { startTestApp, type TestApp } from './app'
import { appToken, seedAuth, type SeededUsers } from './auth-fixtures'
import { testDb } from './db'

export const SIM_API_URL = 'https://1101.api.greenapi.test'

export interface WaHarness {
  app: TestApp
  sim: GreenApiSimulator
  mocks: MockServer
  users: SeededUsers
  /** Bearer tokens for the demo users, each for their own tenant. */
  tokens: { owner: string; member: string; blockedOwner: string }
  /**
   * Stops the app and starts it again on this file's database, the simulator and MSW kept, with
   * `env` over the first start's (a restart with another key ring, say). `app` is the new one.
   */
  restart(env?: Record<string, string>): Promise<void>
  /** fetch on the app with a Bearer token and optional X-Tenant. */
  api(path: string, init?: RequestInit & { token?: string; tenant?: string; json?: unknown }): Promise<Response>
}

/**
 * The app in simulator mode over real HTTP, with the simulator behind MSW at a Green-API-like
 * host, the demo tenants/users seeded and tokens minted. Registers vitest hooks; use the
 * returned object inside tests (its fields are filled in beforeAll).
 */
export function useWaApp(
  options: {
    env?: Record<string, string>
    simulator?: GreenApiSimulatorOptions
    instances?: number
    /** Partner mode against the simulator's Partner API (its partner token, the test partner host). */
    partner?: boolean
    /**
     * Restore the default handlers and clear every simulator fault after each test (default).
     * Off for files whose tests run concurrently, each faulting only its own instance: a reset
     * after one test would clear the others' faults mid-flight.
     */
    resetAfterEach?: boolean
    /** false: no background state refresher (tests of what a status request alone does). */
    statusRefresh?: boolean
    /** More boot options (app/boot.server.ts BootOptions), e.g. `webhookResolver`. */
    bootOptions?: Record<string, unknown>
  } = {},
): WaHarness {
  const h = {} as WaHarness
  beforeAll(async () => {
    let appUrl = 'http://127.0.0.1'
    // Created instances are ready at once unless a test asks for Green-API's creation delay.
    h.sim = new GreenApiSimulator({
      publicUrl: () => appUrl,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      creatingMs: 0,
      ...options.simulator,
    })
    h.mocks = setupMockServer({ simulator: h.sim })
    h.mocks.listen()
    h.users = await seedAuth(testDb())
    const partnerEnv: Record<string, string> = options.partner
      ? {
          GREENAPI_MODE: 'partner',
          GREENAPI_PARTNER_TOKEN: h.sim.partnerToken,
          GREENAPI_PARTNER_URL: GREEN_API_TEST_PARTNER_URL,
          // Created instances are reached on a per-instance-style host MSW serves.
          GREENAPI_BASE_URL: SIM_API_URL,
        }
      : {}
    const start = async (env: Record<string, string> = {}) => {
      h.app = await startTestApp({
        env: { GREENAPI_MODE: 'simulator', ...partnerEnv, ...options.env, ...env },
        bootOptions: {
          simulator: h.sim,
          simulatorApiUrl: SIM_API_URL,
          simulatorInstances: options.instances ?? 5,
          reconcile: false,
          statusRefresh: options.statusRefresh ?? true,
          ...options.bootOptions,
        },
      })
      appUrl = h.app.url
    }
    await start()
    h.restart = async (env) => {
      await h.app.close()
      await start(env)
    }
    h.tokens = {
      owner: await appToken(testDb(), { sub: h.users.owner, tenant_id: 'macrea' }),
      member: await appToken(testDb(), { sub: h.users.member, tenant_id: 'macrea' }),
      blockedOwner: await appToken(testDb(), { sub: h.users.foreignOwner, tenant_id: 'test_tenant_blocked' }),
    }
    h.api = (path, init = {}) => {
      const headers = new Headers(init.headers)
      if (init.token) headers.set('authorization', `Bearer ${init.token}`)
      if (init.tenant) headers.set('x-tenant', init.tenant)
      let body = init.body
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json')
        body = JSON.stringify(init.json)
      }
      return fetch(`${h.app.url}${path}`, { ...init, headers, body })
    }
  })
  if (options.resetAfterEach ?? true) afterEach(() => h.mocks.reset())
  afterAll(async () => {
    await h.app?.close()
    h.mocks?.close()
  })
  return h
}

/** Decodes the QR data URL the API returned into the URL it encodes (the simulated phone). */
export async function decodeQr(dataUrl: string): Promise<string> {
  const { PNG } = await import('pngjs')
  const jsQR = (await import('jsqr')).default
  const png = PNG.sync.read(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'))
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height)
  if (!code) throw new Error('QR did not decode')
  return code.data
}

/** Waits until `check` passes (webhooks and NOTIFY are asynchronous). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      return await check()
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw last
    await new Promise((r) => setTimeout(r, 50))
  }
}
