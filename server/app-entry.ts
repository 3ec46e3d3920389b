import type { ServerBuild } from '@remix-run/node'
import type { AppServerEntry } from '../app/boot.server'

/**
 * The Remix build's server entry as the serving process uses it (boot, shutdown), checked
 * rather than cast: a build that does not export them fails here with a clear message.
 */
export function appEntryOf(build: ServerBuild): AppServerEntry {
  const entry = build.entry.module as Partial<AppServerEntry>
  if (
    typeof entry.bootServices !== 'function' ||
    typeof entry.shutdownServices !== 'function' ||
    typeof entry.bootedSimulator !== 'function' ||
    typeof entry.openEventStream !== 'function'
  ) {
    throw new Error(
      'The app build does not export bootServices / shutdownServices / bootedSimulator / openEventStream (app/entry.server.tsx): rebuild it.',
    )
  }
  return entry as AppServerEntry
}
