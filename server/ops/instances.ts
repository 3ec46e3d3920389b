import type { Command } from 'commander'
import type { GreenApiPartnerProvider } from '../../adapters/green-api'
import type { InstanceMode } from '../../db/schema'
import { INSTANCE_ID, OpsError, printRows, readSecretFromStdin, type OpsContext } from './context'

/** The use cases the CLI runs for a tenant record `system:ops`; the CLI's own entry names the operator. */
const OPS_ACTOR = { kind: 'system', name: 'ops' } as const

const greenApi = () => import('../../adapters/green-api')

/** Key id of an envelope `v1.<keyId>.<data>` (safe to show), or undefined. */
function envelopeKeyId(envelope: string): string | undefined {
  const m = /^v1\.([a-z0-9]{1,16})\./.exec(envelope)
  return m?.[1]
}

/** Short, secret-free reason of an upstream failure (domain errors carry a code). */
function reason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code
  const message = e instanceof Error ? e.message : String(e)
  return typeof code === 'string' ? `${code}: ${message}` : message
}

function checkApiUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new OpsError(`Invalid --api-url "${raw.slice(0, 120)}": expected e.g. https://7105.api.greenapi.com`, 2)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OpsError('--api-url must be an http(s) URL.', 2)
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    // The token goes in the path at call time; a base with a path/query would hide mistakes.
    throw new OpsError(
      '--api-url must be a bare origin such as https://7105.api.greenapi.com (no path, query or credentials).',
      2,
    )
  }
  return url.origin
}

interface AddOpts {
  id: string
  apiUrl: string
  token?: string
  tokenStdin?: boolean
  tokenEnv?: string
  replace?: boolean
  check?: boolean
}

async function tokenFrom(c: OpsContext, opts: AddOpts): Promise<string> {
  const sources = [opts.token !== undefined, Boolean(opts.tokenStdin), opts.tokenEnv !== undefined].filter(Boolean).length
  if (sources !== 1)
    throw new OpsError('Give the instance token with exactly one of --token-stdin, --token-env <VAR> or --token <token>.', 2)
  let token: string
  if (opts.tokenStdin) token = await readSecretFromStdin(c, 'instance token')
  else if (opts.tokenEnv !== undefined) {
    token = (c.env[opts.tokenEnv] ?? '').trim()
    if (token === '') throw new OpsError(`Environment variable ${opts.tokenEnv} is empty or not set.`, 2)
  } else {
    token = (opts.token ?? '').trim()
    c.io.err('Note: --token is visible in shell history and process lists; prefer --token-stdin or --token-env.')
  }
  if (!/^[A-Za-z0-9_-]{8,200}$/.test(token))
    throw new OpsError('The instance token does not look like a Green-API apiTokenInstance (8-200 characters [A-Za-z0-9_-]).', 2)
  return token
}

export function registerInstanceCommands(program: Command, ctx: () => OpsContext): void {
  const instances = program.command('instances').description('Green-API instances: the pool (add, list, remove)')

  instances
    .command('add')
    .description('Register a pool instance (its token is stored encrypted, never printed)')
    .requiredOption('--id <idInstance>', 'Green-API idInstance (digits)')
    .requiredOption('--api-url <url>', "the instance's apiUrl from the Green-API console, e.g. https://7105.api.greenapi.com")
    .option('--token-stdin', 'read apiTokenInstance from the first line of stdin (recommended)')
    .option('--token-env <VAR>', 'read apiTokenInstance from this environment variable')
    .option('--token <token>', 'apiTokenInstance on the command line (visible in shell history)')
    .option('--replace', 'update the API URL and token of an existing, unclaimed pool instance')
    .option('--check', 'ask Green-API for the instance state with these credentials before storing them')
    .action(async (opts: AddOpts) => {
      const c = ctx()
      if (!INSTANCE_ID.test(opts.id))
        throw new OpsError(`Invalid --id "${opts.id.slice(0, 32)}": Green-API instance ids are digits.`, 2)
      const apiUrl = checkApiUrl(opts.apiUrl)
      const token = await tokenFrom(c, opts)
      if (opts.check) {
        try {
          const { GreenApiWhatsAppProvider } = await greenApi()
          const state = await new GreenApiWhatsAppProvider({ maxRetries: 0 }).getState({
            instanceId: opts.id,
            apiToken: token,
            apiUrl,
          })
          c.io.err(`Green-API answers for ${opts.id}: state ${state ?? 'being created'}.`)
        } catch (e) {
          throw new OpsError(`Green-API check failed for instance ${opts.id} (${reason(e)}); nothing stored.`)
        }
      }
      const core = await c.core()
      const { addPoolInstance } = await import('../../domain/whatsapp')
      const registered = await addPoolInstance(core.whatsapp, {
        instanceId: opts.id,
        apiUrl,
        apiToken: token,
        replace: opts.replace === true,
        actor: c.operator,
      })
      if (registered.outcome === 'exists')
        throw new OpsError(`Instance ${opts.id} is already registered (use --replace to change its URL/token).`)
      if (registered.outcome === 'refused') {
        const why =
          registered.reason === 'not_pool'
            ? `it is a ${registered.mode} instance, not a pool one`
            : `it is claimed by tenant "${registered.tenantId}" (disconnect it first)`
        throw new OpsError(`Cannot replace instance ${opts.id}: ${why}.`)
      }
      c.io.err(
        `Pool instance ${opts.id} ${registered.outcome} (${apiUrl}); token stored encrypted under key ${core.vault.currentKeyId()}.`,
      )
    })

  instances
    .command('list')
    .description('List instances: mode, API host, claiming tenant, webhook, health (never tokens)')
    .option('--mode <mode>', 'only shared | pool | partner | simulator')
    .option('--free', 'only unclaimed instances')
    .option('--json', 'print JSON')
    .action(async (opts: { mode?: string; free?: boolean; json?: boolean }) => {
      const c = ctx()
      const modes = ['shared', 'pool', 'partner', 'simulator']
      if (opts.mode && !modes.includes(opts.mode)) throw new OpsError(`--mode must be one of ${modes.join(', ')}.`, 2)
      const db = await c.db()
      let q = db
        .selectFrom('wa_instances as i')
        .leftJoin('tenant_provider_configs as p', 'p.instance_id', 'i.id')
        .select([
          'i.id',
          'i.mode',
          'i.api_url',
          'i.tenant_id',
          'i.claimed_at',
          'i.encrypted_token',
          'i.encrypted_webhook_token',
          'i.needs_logout',
          'i.logout_failures',
          'i.broken_at',
          'p.connection_status',
        ])
        .orderBy('i.mode')
        .orderBy('i.created_at')
        .orderBy('i.id')
      if (opts.mode) q = q.where('i.mode', '=', opts.mode as InstanceMode)
      if (opts.free) q = q.where('i.tenant_id', 'is', null)
      const rows = (await q.execute()).map((r) => ({
        id: r.id,
        mode: r.mode,
        api_url: r.api_url,
        tenant: r.tenant_id,
        status: r.connection_status,
        claimed: r.claimed_at instanceof Date ? r.claimed_at.toISOString() : r.claimed_at,
        webhook: r.encrypted_webhook_token ? 'yes' : 'no',
        // Quarantine (decision 085): "broken" instances are out of the pool until an operator acts.
        health: r.broken_at
          ? `broken (${r.logout_failures} failed logouts)`
          : r.needs_logout
            ? `quarantined (${r.logout_failures} failed logouts)`
            : 'ok',
        // Only the key id of the envelope (for rotation), never the envelope itself.
        key: envelopeKeyId(r.encrypted_token) ?? '(malformed)',
      }))
      printRows(c, rows, ['id', 'mode', 'api_url', 'tenant', 'status', 'claimed', 'webhook', 'health', 'key'], {
        json: opts.json,
        empty: 'No instance registered.',
      })
      const broken = rows.filter((r) => r.health.startsWith('broken')).length
      if (broken > 0 && !opts.json) {
        c.io.err(
          `${broken} broken instance(s): log them out in the Green-API console, then remove them (instances remove <id>) and add them again.`,
        )
      }
    })

  instances
    .command('remove <id>')
    .description('Remove a pool instance; refused while a tenant holds it unless --force (which logs the phone out first)')
    .option('--force', 'also when claimed: log out upstream, disconnect the tenant, then remove')
    .action(async (id: string, opts: { force?: boolean }) => {
      const c = ctx()
      if (!INSTANCE_ID.test(id)) throw new OpsError(`Invalid instance id "${id.slice(0, 32)}".`, 2)
      const db = await c.db()
      const row = await db.selectFrom('wa_instances').select(['id', 'mode', 'tenant_id']).where('id', '=', id).executeTakeFirst()
      if (!row) throw new OpsError(`Unknown instance ${id} (see: instances list).`)
      if (row.mode !== 'pool') {
        throw new OpsError(
          `Instance ${id} is a ${row.mode} instance: only pool instances are removed here (shared/simulator rows come from the configuration; partner instances are deleted by disconnect).`,
        )
      }
      if (!row.tenant_id) {
        const r = await db.deleteFrom('wa_instances').where('id', '=', id).where('tenant_id', 'is', null).executeTakeFirst()
        if (r.numDeletedRows === 0n)
          throw new OpsError(`Instance ${id} was claimed meanwhile; retry with --force to take it back.`)
        await c.audit({ action: 'ops.instance.remove', details: { instance_id: id, forced: false } })
        c.io.err(`Pool instance ${id} removed.`)
        return
      }
      const tenantId = row.tenant_id
      if (!opts.force) {
        throw new OpsError(
          `Instance ${id} is claimed by tenant "${tenantId}": the tenant should disconnect first, or pass --force (logs the phone out, then removes).`,
        )
      }
      // The tenant's own disconnect, run for it (audited as system:ops): logout upstream, provider
      // row + timeline, release, publish. A failed logout leaves the phone linked upstream, so
      // disconnect quarantines the instance (the app retries the logout) and it is not removed.
      const { whatsapp: wa } = await c.core()
      const { disconnect } = await import('../../domain/whatsapp')
      await disconnect(wa, { tenantId, actor: OPS_ACTOR })
      const after = await wa.instances.findById(id)
      if (after?.tenantId)
        throw new OpsError(
          `Instance ${id} is still claimed by tenant "${after.tenantId}" (claimed again meanwhile?); nothing removed.`,
        )
      if (after?.needsLogout) {
        await c.audit({
          action: 'ops.instance.remove',
          tenantId,
          outcome: 'failure',
          details: { instance_id: id, forced: true, error: 'logout_failed' },
        })
        throw new OpsError(
          `Logout of instance ${id} failed: tenant "${tenantId}" is disconnected and the instance quarantined (the app retries the logout); remove it once instances list shows it ok.`,
        )
      }
      const r = await db.deleteFrom('wa_instances').where('id', '=', id).where('tenant_id', 'is', null).executeTakeFirst()
      if (r.numDeletedRows === 0n && after) throw new OpsError(`Instance ${id} was claimed meanwhile; nothing removed.`)
      await c.audit({ action: 'ops.instance.remove', tenantId, details: { instance_id: id, forced: true, logout: 'ok' } })
      c.io.err(`Instance ${id} logged out, tenant "${tenantId}" disconnected, instance removed.`)
    })

  const partner = program.command('partner').description('Green-API Partner API (partner mode: one instance per tenant)')

  const partnerProvider = async (c: OpsContext) => {
    const token = c.env.GREENAPI_PARTNER_TOKEN
    if (!token) throw new OpsError('GREENAPI_PARTNER_TOKEN is not set (partner commands use the same environment as the app).')
    const { GreenApiPartnerProvider } = await greenApi()
    return new GreenApiPartnerProvider({
      partnerApiUrl: c.env.GREENAPI_PARTNER_URL ?? 'https://api.green-api.com',
      partnerToken: token,
    })
  }

  partner
    .command('list')
    .description('List the instances of the partner account next to local rows (orphans: live upstream, unknown here)')
    .option('--all', 'include instances deleted upstream')
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; json?: boolean }) => {
      const c = ctx()
      const provider = await partnerProvider(c)
      let upstream: Awaited<ReturnType<GreenApiPartnerProvider['listInstances']>>
      try {
        upstream = await provider.listInstances()
      } catch (e) {
        throw new OpsError(`Partner getInstances failed (${reason(e)}).`)
      }
      const db = await c.db()
      const local = await db.selectFrom('wa_instances').select(['id', 'mode', 'tenant_id']).execute()
      const byId = new Map(local.map((r) => [r.id, r]))
      const rows = upstream
        .filter((i) => opts.all || !i.deleted)
        .map((i) => {
          const l = byId.get(i.instanceId)
          return {
            id: i.instanceId,
            name: i.name,
            created: i.timeCreated,
            deleted: i.deleted ? 'yes' : 'no',
            local: l ? (l.tenant_id ? `tenant ${l.tenant_id}` : `${l.mode}, free`) : i.deleted ? '-' : 'ORPHAN',
          }
        })
      printRows(c, rows, ['id', 'name', 'created', 'deleted', 'local'], {
        json: opts.json,
        empty: 'The partner account has no instance.',
      })
      const orphans = rows.filter((r) => r.local === 'ORPHAN').length
      if (orphans > 0 && !opts.json)
        c.io.err(`${orphans} orphan instance(s) (billed daily): delete them with partner delete <id>.`)
    })

  partner
    .command('delete <id>')
    .description('Delete an ORPHAN partner instance upstream (refused when a local row still uses it)')
    .action(async (id: string) => {
      const c = ctx()
      if (!INSTANCE_ID.test(id)) throw new OpsError(`Invalid instance id "${id.slice(0, 32)}".`, 2)
      const provider = await partnerProvider(c)
      const db = await c.db()
      const local = await db.selectFrom('wa_instances').select(['tenant_id', 'mode']).where('id', '=', id).executeTakeFirst()
      if (local) {
        throw new OpsError(
          local.tenant_id
            ? `Instance ${id} is held by tenant "${local.tenant_id}": the tenant disconnects it (which deletes it).`
            : `Instance ${id} has a local ${local.mode} row; not an orphan.`,
        )
      }
      try {
        await provider.deleteInstance(id)
      } catch (e) {
        throw new OpsError(`Partner deleteInstanceAccount failed for ${id} (${reason(e)}).`)
      }
      await c.audit({ action: 'ops.partner.delete', details: { instance_id: id } })
      c.io.err(`Partner instance ${id} deleted upstream.`)
    })
}
