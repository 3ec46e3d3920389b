import { format } from 'node:util'

/**
 * Every `console.error` a test causes is recorded (and still printed). An error someone logged
 * and no test asserted is a bug that CI output hides, so the setup file
 * (tests/setup/console-guard.ts) fails the test unless the test declared it with
 * `expectConsoleError(pattern)` — and then the expected line must really appear.
 * The state lives on globalThis: the unit project runs without isolation, where this module and
 * the setup file are evaluated again for each test file while console stays patched.
 */
interface GuardState {
  calls: string[]
  expected: RegExp[]
}
const STATE = Symbol.for('whatsapp-pro.tests.console-error-guard')

function state(): GuardState {
  const g = globalThis as { [STATE]?: GuardState }
  if (!g[STATE]) {
    const s: GuardState = { calls: [], expected: [] }
    const original = console.error.bind(console)
    console.error = (...args: unknown[]) => {
      s.calls.push(format(...args))
      original(...args)
    }
    g[STATE] = s
  }
  return g[STATE]
}

export function installConsoleErrorGuard(): void {
  state()
}

/** The console.error lines the current test has logged so far (what the guard will check). */
export function recordedConsoleErrors(): readonly string[] {
  return [...state().calls]
}

/** Declares that the current test logs a console.error line matching `pattern` (asserted after it). */
export function expectConsoleError(pattern: RegExp): void {
  state().expected.push(pattern)
}

/** Throws (failing the test or hook it runs in) on an undeclared console.error, or a declared one that never came. */
export function checkConsoleErrors(): void {
  const s = state()
  const { calls, expected } = s
  s.calls = []
  s.expected = []
  const unexpected = calls.filter((line) => !expected.some((p) => p.test(line)))
  if (unexpected.length > 0) {
    throw new Error(
      `console.error was called ${unexpected.length} time(s) without expectConsoleError(): ${JSON.stringify(unexpected[0]!.slice(0, 300))}`,
    )
  }
  const missing = expected.filter((p) => !calls.some((line) => p.test(line)))
  if (missing.length > 0) throw new Error(`expected a console.error matching ${missing.map(String).join(', ')}, none was logged`)
}
