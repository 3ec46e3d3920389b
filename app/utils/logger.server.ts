import { createRequire } from 'node:module'
import pino from 'pino'

/**
 * Structured JSON logs. Redaction is the second line of defence (callers never pass secrets):
 * Authorization, cookies, tokens, passwords, ciphertexts, and Green-API tokens inside URL paths.
 *
 * Three layers:
 * 1. pino `redact` paths (fast, fixed paths);
 * 2. a `formatters.log` pass over the whole merging object (any depth ≤ 6): values under a
 *    sensitive key become "[REDACTED]", strings are scrubbed (Green-API/partner tokens in URL
 *    paths, Bearer credentials, JWTs, vault envelopes);
 * 3. the message string itself is scrubbed the same way (`hooks.logMethod`).
 *
 * Destination: stdout, or the file in LOG_FILE (appended; also how tests capture the stream).
 */
const GREEN_API_TOKEN_IN_PATH = /(\/waInstance\d+\/[A-Za-z]+\/)[^/?\s"]+/g
const PARTNER_TOKEN_IN_PATH = /(\/partner\/[A-Za-z]+\/)[^/?\s"]+/g
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g
const ENVELOPE = /\bv1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{16,}/g
const SECRET_QUERY = /([?&](?:token|access_token|api_token|apiToken|password|secret|code|state)=)[^&#\s"]+/gi
/** Keys whose values are never logged, at any depth (matched anywhere in the key, any case). */
const SENSITIVE_KEY =
  /token|password|passwd|secret|authorization|cookie|jwt|envelope|ciphertext|^encrypted|^session(_?id)?$|api_?key/i

export const REDACTED = '[REDACTED]'

function redactUrl(url: string): string {
  return url.replace(GREEN_API_TOKEN_IN_PATH, '$1[REDACTED]').replace(PARTNER_TOKEN_IN_PATH, '$1[REDACTED]')
}

/** Removes credentials from free text: URL-path tokens, Bearer values, JWTs, vault envelopes, secret query params. */
function scrubString(text: string): string {
  return redactUrl(text)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(ENVELOPE, REDACTED)
    .replace(SECRET_QUERY, `$1${REDACTED}`)
}

/** Deep copy of `value` with sensitive keys censored and strings scrubbed. */
function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubString(value)
  if (value === null || typeof value !== 'object') return value
  if (depth >= 6) return '[Object]'
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1))
  if (value instanceof Date) return value
  if (value instanceof Error) {
    const code: unknown = (value as { code?: unknown }).code
    return { type: value.name, message: scrubString(value.message), ...(typeof code === 'string' ? { code } : {}) }
  }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] =
      SENSITIVE_KEY.test(k) && v !== null && v !== undefined && typeof v !== 'boolean' && typeof v !== 'number'
        ? REDACTED
        : scrubValue(v, depth + 1)
  }
  return out
}

/**
 * `LOG_FORMAT=pretty` (set by `npm run dev`): human-readable lines through pino-pretty, a
 * devDependency loaded only then, synchronously in this thread. Redaction runs before it.
 */
function prettyStream(): pino.DestinationStream {
  try {
    const pretty = createRequire(import.meta.url)('pino-pretty') as (opts: Record<string, unknown>) => pino.DestinationStream
    return pretty({ colorize: Boolean(process.stdout.isTTY), translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', sync: true })
  } catch {
    throw new Error('LOG_FORMAT=pretty needs pino-pretty (a devDependency): run npm install, or unset LOG_FORMAT')
  }
}

export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  format: 'json' | 'pretty' = 'json',
  file?: string,
) {
  const dest =
    destination ??
    (file ? pino.destination({ dest: file, sync: true, mkdir: true }) : format === 'pretty' ? prettyStream() : undefined)
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          'headers.authorization',
          'headers.cookie',
          '*.authorization',
          '*.cookie',
          '*.password',
          '*.token',
          '*.apiToken',
          '*.apiTokenInstance',
          '*.partnerToken',
          '*.webhookToken',
          '*.webhookUrlToken',
          '*.encrypted_config',
          '*.encryptedConfig',
          '*.encrypted_token',
          '*.encryptedToken',
          '*.encrypted_webhook_token',
          '*.encryptedWebhookToken',
          '*.secret',
          'password',
          'token',
          'apiToken',
          'authorization',
          'cookie',
        ],
        censor: REDACTED,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubString(a) : a)) as typeof args
          method.apply(this, scrubbed)
        },
      },
      formatters: {
        log(obj) {
          return scrubValue(obj) as Record<string, unknown>
        },
      },
    },
    dest,
  )
}

export type AppLogger = ReturnType<typeof createLogger>
