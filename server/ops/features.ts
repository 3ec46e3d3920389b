import type { Command } from 'commander'
import { OpsError, parseOnOff, printRows, type OpsContext } from './context'

type FlagName = 'whatsapp_enabled' | 'sms_enabled' | 'email_enabled'

/** The use case records `system:ops`; the CLI's own `ops.*` entry names the operator. */
const OPS_ACTOR = { kind: 'system', name: 'ops' } as const

export function registerFeatureCommands(program: Command, ctx: () => OpsContext): void {
  const features = program.command('features').description('Per-tenant feature flags (WhatsApp Pro add-on, SMS, e-mail)')

  features
    .command('set <tenant>')
    .description('Switch features of a tenant, e.g. features set macrea --whatsapp on')
    .option('--whatsapp <on|off>', 'WhatsApp Pro add-on')
    .option('--sms <on|off>', 'SMS')
    .option('--email <on|off>', 'e-mail')
    .action(async (tenantId: string, opts: { whatsapp?: string; sms?: string; email?: string }) => {
      const c = ctx()
      const wanted: Partial<Record<FlagName, boolean>> = {}
      if (opts.whatsapp !== undefined) wanted.whatsapp_enabled = parseOnOff(opts.whatsapp, '--whatsapp')
      if (opts.sms !== undefined) wanted.sms_enabled = parseOnOff(opts.sms, '--sms')
      if (opts.email !== undefined) wanted.email_enabled = parseOnOff(opts.email, '--email')
      if (Object.keys(wanted).length === 0)
        throw new OpsError('Nothing to set: pass --whatsapp, --sms and/or --email (on|off).', 2)
      const tenant = await c.requireTenant(tenantId)
      const db = await c.db()
      const { whatsapp: wa } = await c.core()
      const { setFeatureFlags } = await import('../../domain/whatsapp')
      const { before, after } = await setFeatureFlags(wa, { tenantId: tenant.id, changes: wanted, actor: OPS_ACTOR })
      await c.audit({ action: 'ops.features.set', tenantId: tenant.id, details: { before, after } })
      c.io.err(
        `"${tenant.id}": whatsapp ${onOff(after.whatsapp_enabled)}, sms ${onOff(after.sms_enabled)}, email ${onOff(after.email_enabled)}.`,
      )
      if (after.whatsapp_enabled && !before.whatsapp_enabled) {
        const open = await db
          .selectFrom('upgrade_requests')
          .select('id')
          .where('tenant_id', '=', tenant.id)
          .where('handled_at', 'is', null)
          .execute()
        if (open.length > 0)
          c.io.err(
            `Open upgrade request(s) for this tenant: ${open.map((r) => r.id).join(', ')} (mark them: upgrades handle <id>).`,
          )
      }
    })

  features
    .command('list')
    .description('List feature flags of every tenant (or one)')
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      const c = ctx()
      if (opts.tenant) await c.requireTenant(opts.tenant)
      const db = await c.db()
      let q = db
        .selectFrom('tenants as t')
        .leftJoin('tenant_features as f', 'f.tenant_id', 't.id')
        .select(['t.id', 'f.whatsapp_enabled', 'f.sms_enabled', 'f.email_enabled', 'f.updated_at'])
        .orderBy('t.id')
      if (opts.tenant) q = q.where('t.id', '=', opts.tenant)
      const rows = (await q.execute()).map((r) => ({
        tenant: r.id,
        // No row: the defaults (docs/data.md#tenancy-and-people: whatsapp off, sms and email on).
        whatsapp: onOff(r.whatsapp_enabled ?? false),
        sms: onOff(r.sms_enabled ?? true),
        email: onOff(r.email_enabled ?? true),
        updated: r.updated_at instanceof Date ? r.updated_at.toISOString() : null,
      }))
      printRows(c, rows, ['tenant', 'whatsapp', 'sms', 'email', 'updated'], { json: opts.json, empty: 'No tenant yet.' })
    })
}

function onOff(v: boolean): 'on' | 'off' {
  return v ? 'on' : 'off'
}
