import pino from 'pino'

/**
 * Structured JSON logs. Redaction is the second line of defence (callers never pass secrets):
 * Authorization, cookies, tokens, passwords, ciphertexts, and Green-API tokens inside URL paths.
 */
const GREEN_API_TOKEN_IN_PATH = /(\/waInstance\d+\/[A-Za-z]+\/)[^/?\s"]+/g
const PARTNER_TOKEN_IN_PATH = /(\/partner\/[A-Za-z]+\/)[^/?\s"]+/g

export function redactUrl(url: string): string {
  return url.replace(GREEN_API_TOKEN_IN_PATH, '$1[REDACTED]').replace(PARTNER_TOKEN_IN_PATH, '$1[REDACTED]')
}

export function createLogger(level: string, destination?: pino.DestinationStream) {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          'headers.cookie',
          '*.authorization',
          '*.password',
          '*.token',
          '*.apiToken',
          '*.apiTokenInstance',
          '*.webhookToken',
          '*.encrypted_config',
          '*.encryptedConfig',
          '*.secret',
          'password',
          'token',
          'apiToken',
          'authorization',
        ],
        censor: '[REDACTED]',
      },
      formatters: {
        log(obj) {
          for (const key of ['url', 'path']) {
            const v = obj[key]
            if (typeof v === 'string') obj[key] = redactUrl(v)
          }
          return obj
        },
      },
    },
    destination,
  )
}

export type AppLogger = ReturnType<typeof createLogger>
