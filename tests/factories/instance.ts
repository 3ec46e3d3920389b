import type { Kysely } from 'kysely'
import type { Database, InstanceMode } from '../../db/schema'
import { testDb } from '../utils/db'
import { uniqueDigits } from './unique'

export interface InstanceFixture {
  id: string
  mode: InstanceMode
  apiUrl: string
  encryptedToken: string
  tenantId: string | null
}

/**
 * A `wa_instances` row with a unique digits id. `encryptedToken` defaults to an opaque
 * placeholder: tests that decrypt it pass a real vault envelope.
 */
export async function createInstance(
  opts: { mode?: InstanceMode; tenantId?: string | null; encryptedToken?: string; apiUrl?: string; db?: Kysely<Database> } = {},
): Promise<InstanceFixture> {
  const db = opts.db ?? testDb()
  const id = uniqueDigits()
  const fixture: InstanceFixture = {
    id,
    mode: opts.mode ?? 'pool',
    apiUrl: opts.apiUrl ?? `https://${id.slice(0, 4)}.api.greenapi.test`,
    encryptedToken: opts.encryptedToken ?? `v1.test.placeholder-${id}`,
    tenantId: opts.tenantId ?? null,
  }
  await db
    .insertInto('wa_instances')
    .values({
      id,
      mode: fixture.mode,
      api_url: fixture.apiUrl,
      encrypted_token: fixture.encryptedToken,
      tenant_id: fixture.tenantId,
      claimed_at: fixture.tenantId ? new Date() : null,
    })
    .execute()
  return fixture
}
