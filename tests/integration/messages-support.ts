import { sql } from 'kysely'
import { AesGcmCredentialVault } from '../../adapters/crypto/aes-gcm-credential-vault'
import { parseEncryptionKeys } from '../../adapters/crypto/encryption-keys'
import { messageSecretLocation } from '../../domain/messages'
import { TEST_ENCRYPTION_KEYS } from '../utils/app'
import { testDb } from '../utils/db'
import type { WaHarness } from '../utils/wa-harness'

// Shared helpers of the receipts / inbound HTTP tests. Not a test file itself.

/** The app's vault (same test keys): decrypts what the store wrote, to check what it holds. */
const vault = new AesGcmCredentialVault(parseEncryptionKeys({ WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS }))

export interface StoredMessage {
  id: string
  tenantId: string
  direction: string
  status: string
  history: string[]
  errorCode: string | null
  contentType: string
  upstreamMessageId: string | null
  peer: string
  text: string
  textEnvelope: string
}

function toStored(r: {
  id: string
  tenant_id: string
  direction: string
  status: string
  status_history: Array<{ status: string }>
  error_code: string | null
  content_type: string
  upstream_message_id: string | null
  peer_encrypted: string
  text_encrypted: string
}): StoredMessage {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    direction: r.direction,
    status: r.status,
    history: r.status_history.map((e) => e.status),
    errorCode: r.error_code,
    contentType: r.content_type,
    upstreamMessageId: r.upstream_message_id,
    peer: vault.decrypt(r.peer_encrypted, messageSecretLocation(r.tenant_id, r.id, 'peer_encrypted')),
    text: vault.decrypt(r.text_encrypted, messageSecretLocation(r.tenant_id, r.id, 'text_encrypted')),
    textEnvelope: r.text_encrypted,
  }
}

/** A stored message as the database holds it (status, history, decrypted peer and text). */
export async function storedMessage(id: string): Promise<StoredMessage> {
  return toStored(await testDb().selectFrom('wa_messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow())
}

export async function messagesOf(tenantId: string, direction?: 'inbound' | 'outbound'): Promise<StoredMessage[]> {
  let q = testDb().selectFrom('wa_messages').selectAll().where('tenant_id', '=', tenantId)
  if (direction) q = q.where('direction', '=', direction)
  return (await q.orderBy('created_at').execute()).map(toStored)
}

/** Every row of every table of the test database as text (what a dump would show). */
export async function dumpDatabase(): Promise<string> {
  const tables = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`.execute(testDb())
  const out: string[] = []
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: string }>`SELECT to_jsonb(t)::text AS row FROM ${sql.table(table_name)} t`.execute(testDb())
    out.push(...rows.rows.map((r) => r.row))
  }
  const jobs = await sql<{ row: string }>`SELECT to_jsonb(j)::text AS row FROM graphile_worker._private_jobs j`
    .execute(testDb())
    .catch(() => ({ rows: [] as Array<{ row: string }> }))
  out.push(...jobs.rows.map((r) => r.row))
  return out.join('\n')
}

/** POST /api/wa/test as `actor`: Green-API's idMessage and the recorded message id. */
export async function sendTest(
  h: WaHarness,
  actor: { token: string; tenantId: string },
  body: { to?: string; message: string },
): Promise<{ idMessage: string; messageId: string }> {
  const res = await h.api('/api/wa/test', { method: 'POST', token: actor.token, tenant: actor.tenantId, json: body })
  if (res.status !== 200) throw new Error(`test send answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as { idMessage: string; messageId: string }
}
