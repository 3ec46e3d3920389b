import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET } from './app'
import { serverEntryArgs } from './server-entry'

const root = path.resolve(__dirname, '../..')

export interface OpsRun {
  code: number
  stdout: string
  stderr: string
}

export interface CliRunOptions {
  /** Extra environment; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>
  /** Fed to stdin (the in-process run hands it to the command's `readStdin`). */
  stdin?: string
  /** Run as operators do, in a child process (exit codes, argv handling, process-level effects). */
  childProcess?: boolean
}

/** The audit actor the CLI writes for this OS user. */
export const OPS_ACTOR = `operator:${os.userInfo().username.replace(/[^A-Za-z0-9._-]/g, '_')}`

let defaultDataDir: string | undefined

/**
 * Runs `npm run ops -- …` against this test file's database with the test key ring; a private
 * WA_DATA_DIR keeps .data untouched. In this process by default (server/ops.ts `runOps`, about
 * a tenth of a child's cost): the command reads its environment and stdin from the `io` it is
 * given, never from the process, so runs need no process state. In a child process
 * (`node build/server/ops.js …`, see serverEntryArgs) when asked: exit codes, argv handling, process-level effects.
 */
export function runOps(args: string[], opts: CliRunOptions = {}): Promise<OpsRun> {
  return runCli('ops', args, opts)
}

/** `npm run token -- …`, like runOps (server/token.ts `runToken`). */
export function runToken(args: string[], opts: CliRunOptions = {}): Promise<OpsRun> {
  return runCli('token', args, opts)
}

async function runCli(cli: 'ops' | 'token', args: string[], opts: CliRunOptions): Promise<OpsRun> {
  defaultDataDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'ops-cli-'))
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    DATABASE_URL: process.env.DATABASE_URL ?? '',
    JWT_SECRET: TEST_JWT_SECRET,
    WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    WA_DATA_DIR: defaultDataDir,
    ...opts.env,
  }
  if (opts.childProcess) return inChild(cli, args, env, opts.stdin)
  return inProcess(cli, args, env, opts.stdin)
}

async function inProcess(
  cli: 'ops' | 'token',
  args: string[],
  env: Record<string, string | undefined>,
  stdin: string | undefined,
): Promise<OpsRun> {
  let stdout = ''
  let stderr = ''
  const io = {
    stdout: (s: string) => void (stdout += s),
    stderr: (s: string) => void (stderr += s),
    readStdin: async () => stdin ?? '',
    // A copy without the removed variables: the command may fill in what it resolves.
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)),
  }
  const code =
    cli === 'ops'
      ? await (await import('../../server/ops')).runOps(args, io)
      : await (await import('../../server/token')).runToken(args, io)
  return { code, stdout, stderr }
}

function inChild(
  cli: 'ops' | 'token',
  args: string[],
  env: Record<string, string | undefined>,
  stdin: string | undefined,
): Promise<OpsRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [...serverEntryArgs(cli), ...args],
      {
        cwd: root,
        timeout: 120_000,
        // execFile skips undefined values: that is how a variable is removed.
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), NODE_ENV: 'test', ...env },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
    child.stdin?.end(stdin ?? '')
  })
}
