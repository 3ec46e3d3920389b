import type { HttpHandler } from 'msw'
import { setupServer, type SetupServer } from 'msw/node'
import { GreenApiSimulator, type GreenApiSimulatorOptions } from '../../adapters/green-api/simulator'
import { createGreenApiMock } from './green-api'

export * from './green-api'

/** Every vendor's handlers (only Green-API today). */
export function createHandlers(simulator: GreenApiSimulator): HttpHandler[] {
  return [...createGreenApiMock(simulator)]
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

/** Unknown external traffic is an error; our own app on 127.0.0.1/localhost passes through. */
export function onUnhandledRequest(request: Request, print: { warning(): void; error(): void }): void {
  const { hostname } = new URL(request.url)
  if (LOCAL_HOSTS.has(hostname)) return
  print.error()
}

export interface MockServer {
  server: SetupServer
  simulator: GreenApiSimulator
  /** `server.listen` with the unhandled-request policy above. */
  listen(): void
  /** Restores the default handlers (drops `server.use()` overrides) and clears simulator faults. */
  reset(): void
  close(): void
}

/**
 * An MSW server on the Green-API simulator. Pass your own simulator (e.g. with a `publicUrl`
 * pointing at the app under test), or options for a new one. Typical use:
 *   const mocks = setupMockServer(); beforeAll(mocks.listen); afterEach(mocks.reset); afterAll(mocks.close)
 */
export function setupMockServer(
  opts: { simulator?: GreenApiSimulator; simulatorOptions?: GreenApiSimulatorOptions } = {},
): MockServer {
  // Created instances are ready at once unless a test asks for Green-API's creation delay.
  const simulator = opts.simulator ?? new GreenApiSimulator({ creatingMs: 0, ...opts.simulatorOptions })
  const server = setupServer(...createHandlers(simulator))
  return {
    server,
    simulator,
    listen: () => server.listen({ onUnhandledRequest }),
    reset: () => {
      server.resetHandlers()
      simulator.clearFaults()
    },
    close: () => server.close(),
  }
}
