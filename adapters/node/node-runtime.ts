import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../../domain/ports/clock'
import type { IdGenerator } from '../../domain/ports/id-generator'
import type { SecretGenerator } from '../../domain/ports/secret-generator'

/** Random tokens and constant-time comparison from node:crypto (the domain cannot import it). */
export class NodeSecretGenerator implements SecretGenerator {
  randomToken(bytes = 32): string {
    return randomBytes(bytes).toString('base64url')
  }

  /** Constant time regardless of where the strings differ or their lengths (hash first). */
  safeEqual(a: string, b: string): boolean {
    const ha = createHash('sha256').update(a, 'utf8').digest()
    const hb = createHash('sha256').update(b, 'utf8').digest()
    return timingSafeEqual(ha, hb) && a.length === b.length
  }
}

export class UuidGenerator implements IdGenerator {
  newId(): string {
    return randomUUID()
  }
}

export const systemClock: Clock = { now: () => new Date() }
