import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET } from './app'

const root = path.resolve(__dirname, '../..')
const tsxCli = path.join(root, 'node_modules/tsx/dist/cli.mjs')

export interface OpsRun {
  code: number
  stdout: string
  stderr: string
}

export interface CliRunOptions {
  /** Extra environment; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>
  /** Fed to stdin (a child process: the in-process run reads no stdin). */
  stdin?: string
  /** Run as operators do, in a child process (exit codes, argv handling, process-level effects). */
  childProcess?: boolean
}

/** The audit actor the CLI writes for this OS user. */
export const OPS_ACTOR = `operator:${os.userInfo().username.replace(/[^A-Za-z0-9._-]/g, '_')}`

/** Read once when the CLI's modules load: a run that changes them needs a fresh process. */
const READ_AT_LOAD = ['NODE_ENV', 'WA_ENCRYPTION_KEYS']

let defaultDataDir: string | undefined
/** The WA_DATA_DIR the in-process modules loaded with (server/runtime.ts reads it at load). */
let loadedDataDir: string | undefined

/**
 * Runs `npm run ops -- …` against this test file's database with the test key ring; a private
 * WA_DATA_DIR keeps .data untouched. In this process by default (server/ops.ts `runOps`, about
 * a tenth of a child's cost); in a child process (`node tsx server/ops.ts …`) when asked, when
 * stdin is given, or when the environment differs in what the CLI reads at load.
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
  const changesLoadTime =
    READ_AT_LOAD.some((k) => opts.env && k in opts.env) || (loadedDataDir !== undefined && env.WA_DATA_DIR !== loadedDataDir)
  if (opts.childProcess || opts.stdin !== undefined || changesLoadTime) return inChild(cli, args, env, opts.stdin)
  loadedDataDir ??= env.WA_DATA_DIR
  return inProcess(cli, args, env)
}

/** In-process runs set process.env for their duration: one at a time. */
let inProcessQueue: Promise<unknown> = Promise.resolve()

function inProcess(cli: 'ops' | 'token', args: string[], env: Record<string, string | undefined>): Promise<OpsRun> {
  const run = inProcessQueue.then(() => inProcessNow(cli, args, env))
  inProcessQueue = run.catch(() => {})
  return run
}

async function inProcessNow(cli: 'ops' | 'token', args: string[], env: Record<string, string | undefined>): Promise<OpsRun> {
  const saved = new Map(Object.keys(env).map((k) => [k, process.env[k]]))
  for (const [k, v] of Object.entries(env)) setEnv(k, v)
  let stdout = ''
  let stderr = ''
  const io = { stdout: (s: string) => void (stdout += s), stderr: (s: string) => void (stderr += s) }
  try {
    const code =
      cli === 'ops'
        ? await (await import('../../server/ops')).runOps(args, io)
        : await (await import('../../server/token')).runToken(args, io)
    return { code, stdout, stderr }
  } finally {
    for (const [k, v] of saved) setEnv(k, v)
  }
}

function setEnv(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key]
  else process.env[key] = value
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
      [tsxCli, `server/${cli}.ts`, ...args],
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
