/**
 * The two baselines `npm run bench` compares the status route with. They live here, not in
 * app/routes/: a production build must not carry a route that checks only a JWT signature (no
 * membership, no revocation), opens a pool per request and puts the Green-API token in a URL,
 * nor an env variable that switches it on (issue 14, item 6; decision 115).
 *
 * - `withNoopRoute(build)`: the app's own Remix build plus one resource route that does nothing,
 *   so the no-op figure still measures "a Remix no-op route in the same server" (docs/benchmarks.md): the
 *   same express shell, middleware and Remix request handling as /api/wa/qr/status.
 * - `naiveStatusRouter(services)`: the first version's status route, an express router mounted
 *   beside the simulator's (createHttpApp's `routers`): a new pool per request, the tenant's row
 *   read, one upstream getStateInstance per poll, no cache, no lease.
 */
import type { ServerBuild } from '@remix-run/node'
import express, { type Router } from 'express'
import { Kysely, PostgresDialect } from 'kysely'
import { z } from 'zod'
import { KyselyConnectionRepository } from '../../adapters/kysely/kysely-connection-repository'
import { createPgPool } from '../../adapters/postgres/pg-pool'
import type { Database } from '../../db/schema'
import type { SecretLocation } from '../../domain/ports/credential-vault'
import { configLocation } from '../../domain/whatsapp'

export const NOOP_PATH = '/bench/noop'
export const NAIVE_STATUS_PATH = '/bench/naive-status'

/** The app's build with a no-op resource route at /bench/noop (this process only). */
export function withNoopRoute(build: ServerBuild): ServerBuild {
  const id = 'bench/noop'
  const loader = () => Response.json({ ok: true }, { headers: { 'Cache-Control': 'no-store' } })
  return {
    ...build,
    routes: {
      ...build.routes,
      [id]: { id, parentId: 'root', path: NOOP_PATH.slice(1), index: undefined, caseSensitive: undefined, module: { loader } as never },
    },
  }
}

/** What the naive route needs from the booted services (the bench reads them from the global). */
export interface NaiveStatusDeps {
  databaseUrl: string
  verifyJwt: (token: string) => Promise<{ tenantId?: string | null } | null>
  decrypt: (ciphertext: string, location: SecretLocation) => string
}

const StoredConfig = z.object({ instanceId: z.string(), apiToken: z.string(), apiUrl: z.string() })

export function naiveStatusRouter(deps: NaiveStatusDeps): { path: string; router: Router } {
  const router = express.Router()
  router.get('/', async (req, res) => {
    const claims = await deps.verifyJwt((req.get('authorization') ?? '').replace(/^Bearer /i, '')).catch(() => null)
    if (!claims?.tenantId) return void res.status(401).json({ ok: false, error: 'UNAUTHENTICATED', message: 'Unauthorized' })
    const pool = createPgPool({ connectionString: deps.databaseUrl, max: 1 })
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    try {
      const record = await new KyselyConnectionRepository(db).findByTenant(claims.tenantId)
      if (!record) return void res.json({ connected: false, status: 'notAuthorized' })
      const creds = StoredConfig.parse(JSON.parse(deps.decrypt(record.encryptedConfig, configLocation(record.tenantId))))
      const upstream = await fetch(`${creds.apiUrl}/waInstance${creds.instanceId}/getStateInstance/${creds.apiToken}`, {
        signal: AbortSignal.timeout(5_000),
      })
      const body = (await upstream.json().catch(() => null)) as { stateInstance?: string } | null
      const status = body?.stateInstance ?? record.status
      res.json({ connected: status === 'authorized', status })
    } catch {
      res.status(502).json({ ok: false, error: 'UPSTREAM_UNAVAILABLE', message: 'Upstream error' })
    } finally {
      await db.destroy().catch(() => {})
    }
  })
  return { path: NAIVE_STATUS_PATH, router }
}
