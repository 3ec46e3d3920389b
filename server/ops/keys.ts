import fs from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import type { EncryptionKeyring } from '../../adapters/crypto/encryption-keys'
import type { ReencryptCounts, ReencryptProgress } from '../../adapters/crypto/reencrypt'
import { OpsError, readSecretFromStdin, type OpsContext } from './context'

class Interrupted extends Error {}

async function crypto() {
  const [vault, keys, reencrypt, rows, runtime] = await Promise.all([
    import('../../adapters/crypto/aes-gcm-credential-vault'),
    import('../../adapters/crypto/encryption-keys'),
    import('../../adapters/crypto/reencrypt'),
    import('../../adapters/kysely/kysely-secret-rows'),
    import('../runtime'),
  ])
  return { ...vault, ...keys, ...reencrypt, ...rows, parseServerEnv: runtime.parseServerEnv }
}

function keyring(
  c: OpsContext,
  { parseEncryptionKeys, EncryptionKeyConfigError }: Awaited<ReturnType<typeof crypto>>,
): EncryptionKeyring {
  try {
    return parseEncryptionKeys(c.env)
  } catch (e) {
    if (e instanceof EncryptionKeyConfigError) throw new OpsError(e.message)
    throw e
  }
}

/** Development only: the generated key ring lives in .data/secrets.json; keep it in step. */
function saveDevKeyring(c: OpsContext, value: string, dataDir: string): string | undefined {
  if (c.keysFromEnvironment || c.env.NODE_ENV === 'production') return undefined
  const file = path.join(dataDir, 'secrets.json')
  if (!fs.existsSync(file)) return undefined
  const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>
  stored.WA_ENCRYPTION_KEYS = value
  fs.writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 })
  return file
}

function progressLine(p: ReencryptProgress): string {
  return `re-encrypting ${p.table}.${p.column} (up to id ${p.lastId}): ${p.scanned} scanned, ${p.reencrypted} re-encrypted, ${p.skipped} skipped, ${p.failed} failed`
}

export function registerKeyCommands(program: Command, ctx: () => OpsContext): void {
  const keys = program.command('keys').description('Encryption keys of stored credentials: rotate and verify')

  keys
    .command('rotate')
    .description(
      'Add a new current key (generated unless --key-stdin) and re-encrypt every encrypted value in batches; ' +
        'resumable with --resume once WA_ENCRYPTION_KEYS holds the new key',
    )
    .option('--key-stdin', 'read the new key entry "<id>:<base64 32 bytes>" from stdin instead of generating one')
    .option('--resume', 'add no key: re-encrypt the rows not yet under the current key of WA_ENCRYPTION_KEYS')
    .option('--stage', 'only add the key, NOT current and without re-encrypting (zero-downtime step 1, see docs/operations.md)')
    .option('--batch-size <n>', 'rows per batch', '200')
    .action(async (opts: { keyStdin?: boolean; resume?: boolean; stage?: boolean; batchSize: string }) => {
      const c = ctx()
      const batchSize = Number(opts.batchSize)
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
        throw new OpsError('--batch-size must be an integer between 1 and 10000.', 2)
      if (opts.resume && (opts.keyStdin || opts.stage))
        throw new OpsError('--resume takes no new key (drop --key-stdin / --stage).', 2)
      const db = await c.db() // also fills the development key ring
      const k = await crypto()
      const { AesGcmCredentialVault, generateKeyringString, parseEncryptionKeys, reencryptAll, KyselySecretRows } = k
      const ring = keyring(c, k)
      const from = ring.currentKeyId
      let target = ring
      let generated = false

      if (!opts.resume) {
        const entry = opts.keyStdin ? await readSecretFromStdin(c, 'key entry') : generateKeyringString()
        generated = !opts.keyStdin
        let added: EncryptionKeyring
        try {
          added = parseEncryptionKeys({ WA_ENCRYPTION_KEYS: entry })
        } catch (e) {
          throw new OpsError(e instanceof Error ? e.message : 'Invalid key entry.', 2)
        }
        const newId = added.currentKeyId
        if (ring.has(newId)) throw new OpsError(`Key id "${newId}" is already in WA_ENCRYPTION_KEYS.`, 2)
        target = ring.withKey(newId, added.keyMaterial(newId)!, !opts.stage)
        const value = `${(c.env.WA_ENCRYPTION_KEYS ?? '').trim().replace(/,+$/, '')},${entry}`
        const devFile = saveDevKeyring(c, value, k.parseServerEnv(c.env).dataDir)
        if (devFile) {
          c.io.err(`New key "${newId}" added to ${devFile} (development key ring).`)
        } else if (generated) {
          c.io.err('')
          c.io.err('SECRET — new key ring. The next line of stdout is the new value of WA_ENCRYPTION_KEYS, shown ONCE.')
          c.io.err(
            'Store it in your secret manager now and deploy it to every app process. Anyone holding it can decrypt the stored Green-API tokens; do not paste it into tickets or chat.',
          )
          c.io.out(`WA_ENCRYPTION_KEYS=${value}`)
          c.io.err('')
        } else {
          c.io.err(`Append your entry for "${newId}" to WA_ENCRYPTION_KEYS (after the existing keys) in every app process.`)
        }
        if (opts.stage) {
          c.io.err(
            `Staged: "${newId}" is listed but NOT current. Pin the current key with WA_ENCRYPTION_CURRENT_KEY=${from} while deploying,`,
          )
          c.io.err(
            `then set WA_ENCRYPTION_CURRENT_KEY=${newId} (or unset it), deploy again and run: npm run ops -- keys rotate --resume`,
          )
          await c.audit({ action: 'ops.keys.stage', details: { current: from, staged: newId, generated } })
          return
        }
        if (c.env.WA_ENCRYPTION_CURRENT_KEY)
          c.io.err(`Also set WA_ENCRYPTION_CURRENT_KEY=${newId} (or unset it: the last listed key is current).`)
      }

      const to = target.currentKeyId
      const vault = new AesGcmCredentialVault(target)
      let interrupted = false
      const onSignal = () => {
        interrupted = true
        c.io.err('\nInterrupt received: stopping after this batch (rows already written stay re-encrypted).')
      }
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      let counts: ReencryptCounts = { scanned: 0, reencrypted: 0, skipped: 0, failed: 0 }
      c.io.err(`Re-encrypting credentials from any old key to "${to}" in batches of ${batchSize}…`)
      try {
        counts = await reencryptAll(new KyselySecretRows(db), vault, {
          batchSize,
          onProgress: (p) => {
            counts = { scanned: p.scanned, reencrypted: p.reencrypted, skipped: p.skipped, failed: p.failed }
            if (c.io.isTTY) c.io.progress(progressLine(p))
            else c.io.err(progressLine(p))
            if (interrupted) throw new Interrupted()
          },
        })
      } catch (e) {
        if (c.io.isTTY) c.io.progress(null)
        await c.audit({
          action: 'ops.keys.rotate',
          outcome: 'failure',
          details: {
            from,
            to,
            generated,
            resume: Boolean(opts.resume),
            ...counts,
            error: e instanceof Interrupted ? 'interrupted' : 'error',
          },
        })
        const resume = `Resume (with WA_ENCRYPTION_KEYS holding "${to}") by running: npm run ops -- keys rotate --resume`
        if (e instanceof Interrupted) throw new OpsError(`Interrupted after ${counts.reencrypted} row(s). ${resume}`, 130)
        throw new OpsError(
          `Re-encryption stopped (${e instanceof Error ? e.message : String(e)}) after ${counts.reencrypted} row(s). ${resume}`,
        )
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
      }
      if (c.io.isTTY) c.io.progress(null)
      await c.audit({
        action: 'ops.keys.rotate',
        outcome: counts.failed > 0 ? 'failure' : 'success',
        details: { from, to, generated, resume: Boolean(opts.resume), ...counts },
      })
      c.io.err(
        `Done: ${counts.reencrypted} re-encrypted, ${counts.skipped} skipped (changed meanwhile or already current), ${counts.failed} failed; current key "${to}".`,
      )
      if (counts.failed > 0)
        throw new OpsError(
          `${counts.failed} row(s) could not be decrypted with WA_ENCRYPTION_KEYS: run keys verify to list them.`,
        )
      c.io.err(
        'Next: make sure every app process runs with the new WA_ENCRYPTION_KEYS, then npm run ops -- keys verify; old keys can be removed once it reports 0 stale rows.',
      )
    })

  keys
    .command('verify')
    .description('Decrypt every stored credential; exit 1 when a row is not under the current key or does not decrypt')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const c = ctx()
      const db = await c.db()
      const k = await crypto()
      const { AesGcmCredentialVault, KyselySecretRows } = k
      const ring = keyring(c, k)
      const report = await new KyselySecretRows(db).verifyAll(new AesGcmCredentialVault(ring))
      if (opts.json) c.io.out(JSON.stringify({ currentKeyId: ring.currentKeyId, ...report }, null, 2))
      else {
        c.io.out(`current key: ${ring.currentKeyId}`)
        c.io.out(
          `rows checked: ${report.checked}, decrypted: ${report.ok}, stale (not under current key): ${report.stale}, undecryptable: ${report.failures.length}`,
        )
        for (const [keyId, n] of Object.entries(report.byKeyId).sort()) c.io.out(`  ${keyId}: ${n} row(s)`)
        for (const f of report.failures.slice(0, 50)) c.io.out(`  FAILED ${f.table}.${f.column} id ${f.id}`)
        if (report.failures.length > 50) c.io.out(`  … and ${report.failures.length - 50} more`)
      }
      const unused = ring.keyIds().filter((id) => id !== ring.currentKeyId && !report.byKeyId[id])
      if (report.stale > 0)
        throw new OpsError(
          `${report.stale} row(s) are not under the current key "${ring.currentKeyId}": run keys rotate --resume.`,
        )
      if (report.failures.length > 0)
        throw new OpsError(
          `${report.failures.length} row(s) do not decrypt with WA_ENCRYPTION_KEYS (a key is missing or a row is corrupt).`,
        )
      c.io.err(
        `OK: every credential decrypts under "${ring.currentKeyId}".${unused.length > 0 ? ` Keys no longer used (removable): ${unused.join(', ')}.` : ''}`,
      )
    })
}
