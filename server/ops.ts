import { Command, CommanderError } from 'commander'
import { registerAuditCommands } from './ops/audit'
import { envOf, runWhenMain, type CliIo } from './cli-io'
import { OpsContext, OpsError, opsIo } from './ops/context'
import { registerFeatureCommands } from './ops/features'
import { registerInstanceCommands } from './ops/instances'
import { registerKeyCommands } from './ops/keys'
import { registerSecretCommands } from './ops/secrets'
import { registerTenantCommands } from './ops/tenants'
import { registerUpgradeCommands } from './ops/upgrades'
import { registerUserCommands } from './ops/users'

/**
 * `npm run ops -- <command>` — the operator CLI (docs/operations.md).
 *
 * Same database and secrets as `npm start`: DATABASE_URL, or the embedded PostgreSQL in .data
 * (started for the command and stopped after when it was not running). Every change is written
 * to audit_log with actor `operator:<os user>`.
 *
 * Exit codes: 0 ok · 1 the operation failed or was refused (unknown tenant/user/instance, stale
 * keys, …) · 2 usage error · 130 interrupted.
 */
function buildProgram(ctx: () => OpsContext, io: CliIo): Command {
  const program = new Command('ops')
    .description(
      'WhatsApp Pro operator CLI: tenants, users, feature flags, Green-API instances, encryption keys, secrets, upgrade requests, audit log',
    )
    .usage('<command> [subcommand] [options]   (npm run ops -- …)')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
    })
  registerTenantCommands(program, ctx)
  registerUserCommands(program, ctx)
  registerFeatureCommands(program, ctx)
  registerInstanceCommands(program, ctx)
  registerKeyCommands(program, ctx)
  registerSecretCommands(program, ctx)
  registerUpgradeCommands(program, ctx)
  registerAuditCommands(program, ctx)
  // A group without a subcommand prints its help (exit 0) instead of doing nothing.
  for (const group of program.commands) {
    group.exitOverride()
    if (group.commands.length > 0) group.action(() => group.help())
  }
  return program
}

/**
 * Runs one `ops` command: `argv` is what follows `ops` on the command line; returns the exit code.
 * The process entry (below) and in-process callers (tests) go through here.
 */
export async function runOps(argv: string[], io: CliIo): Promise<number> {
  const opsIoOf = opsIo(io)
  let context: OpsContext | undefined
  const ctx = () => (context ??= new OpsContext(opsIoOf, envOf(io)))
  const program = buildProgram(ctx, io)
  try {
    if (argv.length === 0) {
      program.outputHelp()
      return 0
    }
    await program.parseAsync(argv, { from: 'user' })
    return 0
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are "errors" with exit code 0; usage errors were already printed.
      return e.exitCode === 0 ? 0 : 2
    }
    if (e instanceof OpsError) {
      opsIoOf.err(e.message)
      return e.exitCode
    }
    // A missing production secret is already a full sentence naming the variable.
    opsIoOf.err(
      e instanceof Error && e.name === 'MissingProductionSecret'
        ? e.message
        : `ops failed: ${e instanceof Error ? e.message : String(e)}`,
    )
    return 1
  } finally {
    await context?.close()
  }
}

runWhenMain(import.meta.url, runOps)
