import type { Command } from 'commander'
import { OpsError, printRows, type OpsContext } from './context'

/** The use case records `system:ops`; the CLI's own `ops.*` entry names the operator. */
const OPS_ACTOR = { kind: 'system', name: 'ops' } as const

export function registerUpgradeCommands(program: Command, ctx: () => OpsContext): void {
  const upgrades = program
    .command('upgrades')
    .description('Upgrade requests sent from the settings page ("Activer WhatsApp Pro")')

  upgrades
    .command('list')
    .description('List upgrade requests, newest first')
    .option('--open', 'only requests not handled yet')
    .option('--json', 'print JSON')
    .action(async (opts: { open?: boolean; json?: boolean }) => {
      const c = ctx()
      const db = await c.db()
      let q = db
        .selectFrom('upgrade_requests as r')
        .leftJoin('users as u', 'u.id', 'r.requested_by')
        .leftJoin('tenant_features as f', 'f.tenant_id', 'r.tenant_id')
        .select(['r.id', 'r.tenant_id', 'r.feature', 'u.email', 'r.created_at', 'r.handled_at', 'f.whatsapp_enabled'])
        .orderBy('r.created_at', 'desc')
        .orderBy('r.id', 'desc')
      if (opts.open) q = q.where('r.handled_at', 'is', null)
      const rows = (await q.execute()).map((r) => ({
        id: String(r.id),
        tenant: r.tenant_id,
        feature: r.feature,
        requested_by: r.email,
        requested: iso(r.created_at),
        handled: iso(r.handled_at),
        whatsapp_now: r.whatsapp_enabled ? 'on' : 'off',
      }))
      printRows(c, rows, ['id', 'tenant', 'feature', 'requested_by', 'requested', 'handled', 'whatsapp_now'], {
        json: opts.json,
        empty: opts.open ? 'No open upgrade request.' : 'No upgrade request.',
      })
    })

  upgrades
    .command('handle <id>')
    .description('Mark an upgrade request as handled (with --enable, also switch the feature on)')
    .option('--enable', 'switch the requested feature on for the tenant in the same step')
    .action(async (id: string, opts: { enable?: boolean }) => {
      const c = ctx()
      if (!/^[0-9]{1,18}$/.test(id))
        throw new OpsError(`Invalid upgrade request id "${id.slice(0, 32)}" (a number, see: upgrades list).`, 2)
      const { whatsapp: wa } = await c.core()
      const { handleUpgradeRequest } = await import('../../domain/whatsapp')
      const result = await handleUpgradeRequest(wa, { requestId: id, enable: Boolean(opts.enable), actor: OPS_ACTOR })
      if (result.kind === 'missing') throw new OpsError(`Unknown upgrade request ${id} (see: upgrades list).`)
      if (result.kind === 'already_handled') throw new OpsError(`Upgrade request ${id} was already handled at ${iso(result.at)}.`)
      await c.audit({
        action: 'ops.upgrade.handle',
        tenantId: result.tenantId,
        details: { upgrade_request_id: id, feature: result.feature, enabled: Boolean(opts.enable) },
      })
      c.io.err(
        `Upgrade request ${id} (${result.tenantId}, ${result.feature}) marked handled${opts.enable ? '; WhatsApp Pro switched on' : ''}.`,
      )
    })
}

function iso(v: Date | string | null): string | null {
  if (v === null) return null
  return v instanceof Date ? v.toISOString() : String(v)
}
