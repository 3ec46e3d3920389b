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

/** The audit actor the CLI writes for this OS user. */
export const OPS_ACTOR = `operator:${os.userInfo().username.replace(/[^A-Za-z0-9._-]/g, '_')}`

let dataDir: string | undefined

/**
 * Runs `npm run ops -- …` as operators do (a child process: `node tsx server/ops.ts …`) against
 * this test file's database with the test key ring; a private WA_DATA_DIR keeps .data untouched.
 * An `env` entry set to undefined removes that variable (execFile skips undefined values).
 */
export function runOps(args: string[], opts: { env?: Record<string, string | undefined>; stdin?: string } = {}): Promise<OpsRun> {
  dataDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'ops-cli-'))
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [tsxCli, 'server/ops.ts', ...args],
      {
        cwd: root,
        timeout: 120_000,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? os.tmpdir(),
          NODE_ENV: 'test',
          DATABASE_URL: process.env.DATABASE_URL ?? '',
          JWT_SECRET: TEST_JWT_SECRET,
          WA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
          WA_DATA_DIR: dataDir,
          ...opts.env,
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
    child.stdin?.end(opts.stdin ?? '')
  })
}
