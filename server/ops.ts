import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError } from 'commander'
import { registerAuditCommands } from './ops/audit'
import { OpsContext, OpsError, processIo, type Io } from './ops/context'
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
    .description('WhatsApp Pro operator CLI: tenants, users, feature flags, Green-API instances, encryption keys, secrets, upgrade requests, audit log')
    .usage('<command> [subcommand] [options]   (npm run ops -- …)')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
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

/** Where a CLI run writes: the process's streams, or a test's buffers. */
export interface CliIo {
  stdout: (s: string) => void
  stderr: (s: string) => void
}

const PROCESS_STREAMS: CliIo = { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s) }

/**
 * Runs `ops <argv…>` and resolves to its exit code; the entry below calls it with the process's
 * arguments and streams, tests call it in-process. Only the process's own run reads stdin and
 * draws progress on a TTY.
 */
export async function runOps(argv: string[], io: CliIo): Promise<number> {
  const lines: Io =
    io === PROCESS_STREAMS
      ? processIo
      : { out: (l) => io.stdout(`${l}\n`), err: (l) => io.stderr(`${l}\n`), readStdin: async () => '', isTTY: false }
  let context: OpsContext | undefined
  const ctx = () => (context ??= new OpsContext(lines))
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
      lines.err(e.message)
      return e.exitCode
    }
    lines.err(`ops failed: ${e instanceof Error ? e.message : String(e)}`)
    return 1
  } finally {
    await context?.close()
  }
}

// The entry (server/launch.mjs points argv[1] at this file); importing the module runs nothing.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runOps(process.argv.slice(2), PROCESS_STREAMS).then(
    (code) => process.exit(code),
    (e: unknown) => {
      processIo.err(`ops failed: ${e instanceof Error ? e.message : String(e)}`)
      process.exit(1)
    },
  )
}
