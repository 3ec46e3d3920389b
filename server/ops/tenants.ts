import type { Command } from 'commander'
import { OpsError, TENANT_ID, parseOnOff, printRows, type OpsContext } from './context'

export function registerTenantCommands(program: Command, ctx: () => OpsContext): void {
  const tenants = program.command('tenants').description('Create and list tenants')

  tenants
    .command('create <id>')
    .description('Create a tenant (id: ^[a-z0-9][a-z0-9_-]{0,62}$); WhatsApp Pro starts off unless --whatsapp on')
    .requiredOption('--name <name>', 'display name')
    .option('--whatsapp <on|off>', 'WhatsApp Pro add-on', 'off')
    .action(async (id: string, opts: { name: string; whatsapp: string }) => {
      const c = ctx()
      if (!TENANT_ID.test(id))
        throw new OpsError(`Invalid tenant id "${id.slice(0, 64)}": expected ^[a-z0-9][a-z0-9_-]{0,62}$.`, 2)
      const name = opts.name.trim().slice(0, 200)
      if (name === '') throw new OpsError('--name must not be empty.', 2)
      const whatsapp = parseOnOff(opts.whatsapp, '--whatsapp')
      const db = await c.db()
      const created = await db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('tenants')
          .values({ id, name })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst()
        if (!row) return false
        await trx.insertInto('tenant_features').values({ tenant_id: id, whatsapp_enabled: whatsapp }).execute()
        return true
      })
      if (!created) throw new OpsError(`Tenant "${id}" already exists.`)
      await c.audit({ action: 'ops.tenant.create', tenantId: id, details: { name, whatsapp_enabled: whatsapp } })
      c.io.err(`Tenant "${id}" created (WhatsApp Pro ${whatsapp ? 'on' : 'off'}).`)
    })

  tenants
    .command('list')
    .description('List tenants with their members, flags and WhatsApp instance')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const c = ctx()
      const db = await c.db()
      const rows = await db
        .selectFrom('tenants as t')
        .leftJoin('tenant_features as f', 'f.tenant_id', 't.id')
        .leftJoin('wa_instances as i', 'i.tenant_id', 't.id')
        .leftJoin('tenant_provider_configs as p', 'p.tenant_id', 't.id')
        .select((eb) => [
          't.id',
          't.name',
          't.created_at',
          'f.whatsapp_enabled',
          'i.id as instance_id',
          'p.connection_status',
          eb
            .selectFrom('memberships as m')
            .whereRef('m.tenant_id', '=', 't.id')
            .select((e) => e.fn.countAll<string>().as('n'))
            .as('members'),
        ])
        .orderBy('t.id')
        .execute()
      const out = rows.map((r) => ({
        id: r.id,
        name: r.name,
        whatsapp: r.whatsapp_enabled ? 'on' : 'off',
        members: Number(r.members ?? 0),
        instance: r.instance_id,
        status: r.connection_status,
        created: r.created_at instanceof Date ? r.created_at.toISOString() : String(r.created_at),
      }))
      printRows(c, out, ['id', 'name', 'whatsapp', 'members', 'instance', 'status', 'created'], {
        json: opts.json,
        empty: 'No tenant yet.',
      })
    })
}
