import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema'
import type { AuditEntry, AuditLog } from '../../domain/ports/audit-log'

/** Appends to `audit_log` (the table refuses UPDATE and DELETE by trigger). */
export class KyselyAuditLog implements AuditLog {
  constructor(private readonly db: Kysely<Database>) {}

  async append(entry: AuditEntry): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        actor: entry.actor,
        tenant_id: entry.tenantId,
        action: entry.action,
        outcome: entry.outcome,
        ip: entry.ip ?? null,
        details: JSON.stringify(entry.details ?? {}),
      })
      .execute()
  }
}
