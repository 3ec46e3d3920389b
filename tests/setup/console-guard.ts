import { afterAll, afterEach } from 'vitest'
import { checkConsoleErrors, installConsoleErrorGuard } from '../utils/console-guard'

// Every project's first setup file: a test that logs console.error fails (Epic Stack's
// setup-test-env). afterAll catches what the file's own after-hooks log (it runs last).
installConsoleErrorGuard()
afterEach(checkConsoleErrors)
afterAll(checkConsoleErrors)
