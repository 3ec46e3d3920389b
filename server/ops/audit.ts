import type { Command } from 'commander'
import { OpsError, printRows, type OpsContext } from './context'

export function registerAuditCommands(program: Command, ctx: () => OpsContext): void {
  const audit = program.command('audit').description('Read the append-only audit log')

  audit
    .command('list')
    .description('Latest audit entries, newest first')
    .option('--tenant <id>', 'only entries of this tenant')
    .option('--actor <actor>', 'only entries of this actor, e.g. operator:alice')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant?: string; actor?: string; limit: string; json?: boolean }) => {
      const c = ctx()
      const limit = Number(opts.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        throw new OpsError('--limit must be an integer between 1 and 10000.', 2)
      if (opts.tenant) await c.requireTenant(opts.tenant)
      const db = await c.db()
      let q = db
        .selectFrom('audit_log')
        .select(['id', 'at', 'actor', 'tenant_id', 'action', 'outcome', 'ip', 'details'])
        .orderBy('id', 'desc')
        .limit(limit)
      if (opts.tenant) q = q.where('tenant_id', '=', opts.tenant)
      if (opts.actor) q = q.where('actor', '=', opts.actor)
      const rows = (await q.execute()).map((r) => ({
        id: String(r.id),
        at: r.at instanceof Date ? r.at.toISOString() : String(r.at),
        actor: r.actor,
        tenant: r.tenant_id,
        action: r.action,
        outcome: r.outcome,
        ip: r.ip,
        details: opts.json ? r.details : JSON.stringify(r.details),
      }))
      printRows(c, rows, ['id', 'at', 'actor', 'tenant', 'action', 'outcome', 'ip', 'details'], {
        json: opts.json,
        empty: 'No audit entry.',
      })
    })
}
