import type { LoaderFunctionArgs } from '@remix-run/node'
import { Kysely, PostgresDialect } from 'kysely'
import { createPgPool } from '../../adapters/postgres/pg-pool'
import { KyselyConnectionRepository } from '../../adapters/kysely/kysely-connection-repository'
import type { Database } from '../../db/schema'
import { credentialsOf } from '../../domain/whatsapp/internal'
import { getServices } from '~/services.server'
import { ok } from '~/utils/api.server'

// GET /bench/naive-status — `npm run bench` only (BENCH_NOOP=1; 404 otherwise). The first
// version's status route, kept as the baseline the issue asks to compare with: a new pool per
// request, the tenant's row read, one upstream getStateInstance per poll, no cache, no lease.
export async function loader({ request }: LoaderFunctionArgs) {
  const services = getServices()
  if (services.env.BENCH_NOOP !== '1') return new Response('Not found', { status: 404 })
  const claims = await services.auth.verifyJwt((request.headers.get('authorization') ?? '').replace(/^Bearer /i, ''))
  if (!claims?.tenantId) return new Response('Unauthorized', { status: 401 })
  const pool = createPgPool({ connectionString: services.env.DATABASE_URL, max: 1 })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  try {
    const record = await new KyselyConnectionRepository(db).findByTenant(claims.tenantId)
    if (!record) return ok({ connected: false, status: 'notAuthorized' })
    const creds = credentialsOf(services.wa, record)
    const res = await fetch(`${creds.apiUrl}/waInstance${creds.instanceId}/getStateInstance/${creds.apiToken}`, {
      signal: AbortSignal.timeout(5_000),
    })
    const body = (await res.json().catch(() => null)) as { stateInstance?: string } | null
    const status = body?.stateInstance ?? record.status
    return ok({ connected: status === 'authorized', status })
  } catch {
    return new Response('Upstream error', { status: 502 })
  } finally {
    await db.destroy().catch(() => {})
  }
}
