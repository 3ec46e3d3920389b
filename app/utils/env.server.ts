import { z } from 'zod'
import { parseEncryptionKeys, type EncryptionKeyring } from '../../adapters/crypto/encryption-keys'

/**
 * The app's configuration, parsed once at boot by every process that builds the core services
 * (the Remix server, `ops`, `token`): this is the one place that reads it. The process's own
 * variables (PORT, HOST, the data directory, the embedded database) are server/runtime.ts's.
 * Parsed once at boot. The process entry (server/runtime.ts) has already filled
 * dev secrets; here a missing or weak value fails fast with the variable's name (never its value).
 */
const RateRule = z
  .string()
  .regex(/^\d{1,6}\/\d{1,6}$/, 'must look like <count>/<seconds>, e.g. 10/60')
  .transform((v) => {
    const [limit, windowSeconds] = v.split('/').map(Number) as [number, number]
    return { limit, windowSeconds }
  })
  .refine((r) => r.limit >= 1 && r.windowSeconds >= 1, 'count and seconds must be at least 1')

const optionalText = z.string().trim().min(1).optional()

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z.string().min(1, 'DATABASE_URL is required'),
  /**
   * The same database without a pooler in between, for what needs a session of its own (the
   * LISTEN connections, migrations at start). Unset: DATABASE_URL. Set to another URL, it says
   * DATABASE_URL goes through PgBouncer in transaction mode (docs/scale-out.md).
   */
  DATABASE_DIRECT_URL: z.string().min(1).optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  // --- database resilience: every session is bounded, so a slow or frozen
  // PostgreSQL answers 503 within seconds instead of holding requests (0 = no limit).
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
  DATABASE_LOCK_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(2_000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  /** How long a request waits for a pooled connection (new or freed) before a 503. */
  DATABASE_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  // --- end database resilience ---
  JWT_SECRET: z.string().refine((s) => Buffer.byteLength(s, 'utf8') >= 32, 'JWT_SECRET must be at least 32 bytes'),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  JWT_JWKS_URL: z.string().url().optional(),
  // The key ring of stored credentials, checked by its owner (adapters/crypto/encryption-keys.ts)
  // in parseEnv: its messages never quote a key.
  WA_ENCRYPTION_KEYS: z.string().min(1, 'WA_ENCRYPTION_KEYS is required'),
  WA_ENCRYPTION_CURRENT_KEY: z.string().optional(),
  // Sign-in providers: each is offered when both its id and secret are set (decision 033).
  OAUTH_GOOGLE_CLIENT_ID: optionalText,
  OAUTH_GOOGLE_CLIENT_SECRET: optionalText,
  OAUTH_MICROSOFT_CLIENT_ID: optionalText,
  OAUTH_MICROSOFT_CLIENT_SECRET: optionalText,
  OAUTH_MICROSOFT_TENANT: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9.-]{1,64}$/)
    .default('common'),
  OAUTH_GITHUB_CLIENT_ID: optionalText,
  OAUTH_GITHUB_CLIENT_SECRET: optionalText,
  PUBLIC_URL: z.string().url().optional(),
  GREENAPI_MODE: z.enum(['shared', 'pool', 'partner', 'simulator']).optional(),
  GREENAPI_INSTANCE_ID: z
    .string()
    .regex(/^\d{1,20}$/)
    .optional(),
  GREENAPI_API_TOKEN: z.string().optional(),
  GREENAPI_BASE_URL: z.string().url().optional(),
  GREENAPI_PARTNER_TOKEN: z.string().optional(),
  GREENAPI_PARTNER_URL: z.string().url().default('https://api.green-api.com'),
  // --- reliability: Green-API deadlines and breaker, hot-path cache TTL (0 = off) ---
  GREENAPI_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(5_000),
  GREENAPI_QR_TIMEOUT_MS: z.coerce.number().int().min(50).max(120_000).default(10_000),
  GREENAPI_BREAKER_THRESHOLD: z.coerce.number().int().min(1).max(100).default(5),
  GREENAPI_BREAKER_HALF_OPEN_MS: z.coerce.number().int().min(50).max(600_000).default(10_000),
  WA_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(3_000),
  /** Lifetime of cached facts every change announces by NOTIFY (decision 230). */
  WA_CACHE_NOTIFIED_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(300_000),
  // --- end reliability ---
  LINK_ATTEMPT_MINUTES: z.coerce.number().min(1).max(60).default(5),
  // First backoff of the background logout retries of quarantined instances (decision 085).
  WA_LOGOUT_RETRY_BASE_MS: z.coerce.number().int().min(50).max(3_600_000).default(30_000),
  // A linked instance is reconciled with Green-API when its state is older than this (decision 120).
  WA_RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** Background refresher (decision 231): rows per pass, upstream checks in flight. */
  WA_REFRESH_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(500),
  WA_REFRESH_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(32),
  // Days a number stays linked after WhatsApp Pro is switched off, before it is unlinked (decision 169).
  WA_DISABLED_GRACE_DAYS: z.coerce.number().int().min(0).max(365).default(7),
  // Background jobs (graphile-worker): run them in this process (off: only `npm run worker` does), and how many at once.
  WA_JOB_WORKER: z.enum(['on', 'off']).default('on'),
  WA_JOB_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
  // Send drains one process runs at once, in their own worker pool (one per instance sending: decision 171).
  WA_SEND_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(20),
  // Per-tenant limits as "<count>/<window seconds>" (defaults 10/min, 5/10 min, 5/hour: docs/api.md#rate-limits).
  WA_RATE_LIMIT_QR: RateRule.default({ limit: 10, windowSeconds: 60 }),
  WA_RATE_LIMIT_PAIRING: RateRule.default({ limit: 5, windowSeconds: 600 }),
  WA_RATE_LIMIT_TEST: RateRule.default({ limit: 5, windowSeconds: 3600 }),
  // POST /api/wa/reboot per tenant, "<count>/<seconds>" (decision 210).
  WA_RATE_LIMIT_REBOOT: RateRule.default({ limit: 3, windowSeconds: 600 }),
  // --- Messages (docs/decisions/171–174) ---
  // POST /api/wa/messages per tenant, "<count>/<seconds>".
  WA_RATE_LIMIT_MESSAGES: RateRule.default({ limit: 60, windowSeconds: 60 }),
  // Least time between two sends of one instance: ≥ 20 ms (Green-API's 50 sendMessage/s).
  WA_SEND_INTERVAL_MS: z.coerce.number().int().min(20).max(600_000).default(1000),
  // While an instance cannot send (asleep, starting, yellowCard, blocked), its queue is checked again after this.
  WA_SEND_RECHECK_MS: z.coerce.number().int().min(50).max(3_600_000).default(30_000),
  // An interrupted send becomes `unknown` only if Green-API's journal still lacks it this long after it started.
  WA_SEND_RECOVERY_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(150_000),
  // Messages older than this are purged every night (wa.purge-messages).
  WA_MESSAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  // Status history entries (wa_status_events) older than this are purged every night too (decision 259).
  WA_STATUS_EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  // How often workers look for jobs scheduled for later (new jobs arrive at once by NOTIFY).
  WA_JOB_POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  // --- end messages ---
  // CRM webhook targets (docs/security.md#crm-webhook-targets). Unset: by NODE_ENV — production
  // refuses private/loopback targets and plain http; development and test allow both.
  WEBHOOK_ALLOW_PRIVATE: z.enum(['0', '1']).optional(),
  WEBHOOK_HTTPS_ONLY: z.enum(['0', '1']).optional(),
  METRICS_TOKEN: z.string().optional(),
  // --- HTTP edge: event-stream caps and lifetime, request body limits in bytes ---
  SSE_MAX_PER_USER: z.coerce.number().int().min(1).max(1000).default(5),
  SSE_MAX_PER_TENANT: z.coerce.number().int().min(1).max(100_000).default(100),
  SSE_MAX_PER_IP: z.coerce.number().int().min(1).max(100_000).default(50),
  SSE_MAX_LIFETIME_SECONDS: z.coerce.number().int().min(1).max(86_400).default(1800),
  BODY_LIMIT_WEBHOOK_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(64 * 1024),
  BODY_LIMIT_JSON_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(16 * 1024),
  BODY_LIMIT_FORM_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(8 * 1024),
  // --- end HTTP edge ---
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (one line per event; production) or `pretty` (pino-pretty, set by `npm run dev`). */
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  /** Also write log lines to this file (tests read it to check what never reaches logs). */
  LOG_FILE: optionalText,
  /** Set by `remix dev`: the page then loads the live-reload script. */
  REMIX_DEV_ORIGIN: optionalText,
})

export type Env = z.infer<typeof EnvSchema> & {
  GREENAPI_MODE: 'shared' | 'pool' | 'partner' | 'simulator'
  DATABASE_DIRECT_URL: string
  /** DATABASE_URL is a transaction-mode pooler (DATABASE_DIRECT_URL names another URL). */
  DATABASE_POOLED: boolean
  /** WA_ENCRYPTION_KEYS / WA_ENCRYPTION_CURRENT_KEY, parsed. */
  encryptionKeys: EncryptionKeyring
  /** WEBHOOK_ALLOW_PRIVATE / WEBHOOK_HTTPS_ONLY with their NODE_ENV defaults applied. */
  webhookTargets: { allowPrivate: boolean; httpsOnly: boolean }
}

export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = EnvSchema.safeParse(source)
  if (!result.success) {
    const first = result.error.issues[0]
    throw new Error(`Invalid configuration: ${first?.path.join('.') ?? ''} ${first?.message ?? ''}`.trim())
  }
  const env = result.data
  // The simulator is the default when no Green-API credentials are configured, never in production.
  const mode =
    env.GREENAPI_MODE ??
    (env.GREENAPI_PARTNER_TOKEN ? 'partner' : env.GREENAPI_INSTANCE_ID && env.GREENAPI_API_TOKEN ? 'shared' : 'simulator')
  if (mode === 'simulator' && env.NODE_ENV === 'production') {
    throw new Error('Invalid configuration: GREENAPI_MODE simulator cannot run in production (set Green-API credentials)')
  }
  // Decision 091: in production the webhook URL pushed to Green-API (token included)
  // is built from PUBLIC_URL only, and /metrics is never public.
  if (env.NODE_ENV === 'production' && !env.PUBLIC_URL) {
    throw new Error(
      'Invalid configuration: PUBLIC_URL is required in production (webhook and QR URLs are built from it, never from the Host header)',
    )
  }
  if (env.NODE_ENV === 'production' && !env.METRICS_TOKEN) {
    throw new Error('Invalid configuration: METRICS_TOKEN is required in production (/metrics is not public)')
  }
  if (mode === 'shared' && !(env.GREENAPI_INSTANCE_ID && env.GREENAPI_API_TOKEN)) {
    throw new Error('Invalid configuration: GREENAPI_MODE shared needs GREENAPI_INSTANCE_ID and GREENAPI_API_TOKEN')
  }
  if (mode === 'partner' && !env.GREENAPI_PARTNER_TOKEN) {
    throw new Error('Invalid configuration: GREENAPI_MODE partner needs GREENAPI_PARTNER_TOKEN')
  }
  const direct = env.DATABASE_DIRECT_URL ?? env.DATABASE_URL
  // Throws EncryptionKeyConfigError (its own messages, never a key): callers may tell it apart.
  const encryptionKeys = parseEncryptionKeys({
    WA_ENCRYPTION_KEYS: env.WA_ENCRYPTION_KEYS,
    WA_ENCRYPTION_CURRENT_KEY: env.WA_ENCRYPTION_CURRENT_KEY,
  })
  return {
    ...env,
    GREENAPI_MODE: mode,
    DATABASE_DIRECT_URL: direct,
    DATABASE_POOLED: direct !== env.DATABASE_URL,
    encryptionKeys,
    webhookTargets: {
      allowPrivate: (env.WEBHOOK_ALLOW_PRIVATE ?? (env.NODE_ENV === 'production' ? '0' : '1')) === '1',
      httpsOnly: (env.WEBHOOK_HTTPS_ONLY ?? (env.NODE_ENV === 'production' ? '1' : '0')) === '1',
    },
  }
}

/** Every variable EnvSchema reads: tests/integration/env-example.test.ts keeps .env.example in step. */
export const ENV_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape)
