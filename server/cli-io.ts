import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * What a command-line entry (`ops`, `token`) talks to, so the same `run*(argv, io)` serves the
 * process entry and an in-process caller (a test): text goes out exactly as written (lines end
 * with "\n"), stdin and the environment are read from here and never from `process` directly.
 */
export interface CliIo {
  stdout: (s: string) => void
  stderr: (s: string) => void
  /** The whole of stdin (secrets passed with --…-stdin). Default: none (empty). */
  readStdin?: () => Promise<string>
  /** The configuration the command runs with. Default: process.env. */
  env?: Record<string, string | undefined>
  /** Whether stderr is a terminal (progress lines are redrawn in place). Default: false. */
  isTTY?: boolean
}

/** The configuration a command runs with. */
export function envOf(io: CliIo): Record<string, string | undefined> {
  return io.env ?? process.env
}

/** The process's own streams and environment. */
export function processCliIo(): CliIo {
  return {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    async readStdin() {
      const chunks: Buffer[] = []
      for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
      return Buffer.concat(chunks).toString('utf8')
    },
    env: process.env,
    isTTY: Boolean(process.stderr.isTTY),
  }
}

/**
 * Runs `run` with the process's arguments and streams, then exits with its code — only when
 * `moduleUrl` is the file node (or server/launch.mjs) started; imported, the module only exports.
 */
export function runWhenMain(moduleUrl: string, run: (argv: string[], io: CliIo) => Promise<number>): void {
  const started = process.argv[1] ? path.resolve(process.argv[1]) : ''
  if (started !== fileURLToPath(moduleUrl)) return
  const io = processCliIo()
  run(process.argv.slice(2), io).then(
    (code) => process.exit(code),
    (e: unknown) => {
      io.stderr(`${path.basename(started).replace(/\.[jt]s$/, '')} failed: ${e instanceof Error ? e.message : String(e)}\n`)
      process.exit(1)
    },
  )
}
