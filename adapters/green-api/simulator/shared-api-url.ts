import { DEFAULT_SIMULATOR_MOUNT_PATH } from './http'

/**
 * The apiUrl registered for the simulator's instances under `npm start` (decision 215). Every app
 * process in simulator mode serves the same simulator (its state is in PostgreSQL), so an
 * instance is not tied to the process that registered it: requests to this origin go to the
 * process making them (`simulatorAwareFetch`). Registering a process's own URL made the last
 * process to boot the only one that worked, and nothing worked once it stopped.
 */
export const SHARED_SIMULATOR_ORIGIN = 'http://green-api.simulator.invalid'
export const SHARED_SIMULATOR_API_URL = `${SHARED_SIMULATOR_ORIGIN}${DEFAULT_SIMULATOR_MOUNT_PATH}`

let localOrigin: string | undefined

/** The origin this process serves the simulator at (boot, once it knows its port). */
export function setLocalSimulatorOrigin(origin: string | undefined): void {
  localOrigin = origin?.replace(/\/+$/, '')
}

/**
 * `fetch` that sends `SHARED_SIMULATOR_ORIGIN` requests to this process's simulator (else to
 * `fallbackOrigin`, e.g. a CLI next to a running server). Other URLs go out unchanged, through the
 * global `fetch` looked up at call time (MSW patches it in tests).
 */
export function simulatorAwareFetch(fallbackOrigin: () => string): typeof fetch {
  return (input, init) => {
    if (typeof input === 'string' && input.startsWith(`${SHARED_SIMULATOR_ORIGIN}/`)) {
      return fetch(`${localOrigin ?? fallbackOrigin()}${input.slice(SHARED_SIMULATOR_ORIGIN.length)}`, init)
    }
    return fetch(input, init)
  }
}
