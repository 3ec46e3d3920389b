import { randomBytes } from 'node:crypto'

let counter = 0

/** A value unique across calls in this process and (with high probability) across workers. */
export function uniqueSuffix(): string {
  counter += 1
  return `${counter.toString(36)}${randomBytes(4).toString('hex')}`
}

/** A unique all-digits id (Green-API instance ids are digits). */
export function uniqueDigits(length = 12): string {
  counter += 1
  const rand = BigInt(`0x${randomBytes(6).toString('hex')}`)
    .toString()
    .padStart(15, '0')
  return `${(counter % 900) + 100}${rand}`.slice(0, length)
}
