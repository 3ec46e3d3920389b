import type { Command } from 'commander'
import type { OpsContext } from './context'

/**
 * `ops secrets generate`: the two secrets production refuses to start without, in env-file
 * format. It never opens the database (nor starts the embedded one, nor reads the development
 * secrets in .data): it is the first command of a deployment, run where nothing exists yet.
 */
export function registerSecretCommands(program: Command, ctx: () => OpsContext): void {
  const secrets = program
    .command('secrets')
    .description('Generate the secrets production needs (JWT_SECRET, WA_ENCRYPTION_KEYS); no database')

  secrets
    .command('generate')
    .description('Print fresh JWT_SECRET and WA_ENCRYPTION_KEYS lines for a .env file or a secret store (notes on stderr)')
    .option('--json', 'print {"JWT_SECRET": …, "WA_ENCRYPTION_KEYS": …} instead of env-file lines')
    .action(async (opts: { json?: boolean }) => {
      const { io } = ctx()
      // Each value has one generator (the key-ring format: adapters/crypto/encryption-keys.ts; the
      // JWT secret: server/runtime.ts, shared with the dev secrets); imported here so --help stays fast.
      const [{ generateKeyringString }, { generateJwtSecret }] = await Promise.all([
        import('../../adapters/crypto/encryption-keys'),
        import('../runtime'),
      ])
      const values = {
        JWT_SECRET: generateJwtSecret(),
        WA_ENCRYPTION_KEYS: generateKeyringString(),
      }
      io.err(
        'SECRETS — shown once. Store them now in your secret manager, or in a .env file readable only by the app (chmod 600), never in git.',
      )
      io.err(
        'Every app process needs the same two values. WA_ENCRYPTION_KEYS encrypts the stored Green-API tokens: losing it makes them',
      )
      io.err(
        'unreadable (instances must be linked again). Changing JWT_SECRET invalidates every API token (bearer JWT) issued with it.',
      )
      io.err('To add a key to an existing key ring, use `npm run ops -- keys rotate` instead (see docs/operations.md).')
      if (opts.json) io.out(JSON.stringify(values, null, 2))
      else for (const [name, value] of Object.entries(values)) io.out(`${name}=${value}`)
    })
}
