import { describe, expect, it } from 'vitest'
import { isDatabaseUnavailable, isServerShuttingDown } from './pg-errors'

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code })

// The classifier behind every 503 of decision 095: outages and timeouts are "unavailable",
// bugs and data errors are not (they stay 500s, or the domain's own codes).
describe('isDatabaseUnavailable', () => {
  it.each([
    ['refused', pgError('ECONNREFUSED')],
    ['reset', pgError('ECONNRESET')],
    ['admin shutdown / pg_terminate_backend', pgError('57P01')],
    ['cannot connect now (starting or shutting down)', pgError('57P03')],
    ['connection failure', pgError('08006')],
    ['statement timeout', pgError('57014', 'canceling statement due to statement timeout')],
    ['lock timeout', pgError('55P03')],
    ['idle in transaction timeout', pgError('25P03')],
    ['too many connections', pgError('53300')],
    ['pool acquire timeout', new Error('timeout exceeded when trying to connect')],
    ['connect timeout', new Error('Connection terminated due to connection timeout')],
    ['dropped mid-query', new Error('Connection terminated unexpectedly')],
    ['frozen server (query_timeout)', new Error('Query read timeout')],
    ['happy-eyeballs connect', new AggregateError([pgError('ECONNREFUSED'), pgError('ECONNREFUSED')], '')],
    ['wrapped', new Error('saving failed', { cause: pgError('57P01') })],
  ])('%s → unavailable', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true)
  })

  it.each([
    ['unique violation', pgError('23505')],
    ['syntax error (a bug)', pgError('42601')],
    ['undefined column (a bug)', pgError('42703')],
    ['plain bug', new TypeError('cannot read properties of undefined')],
    ['a coded error whose message looks like a timeout', pgError('22P02', 'Query read timeout')],
    ['not an error', 'ECONNREFUSED'],
  ])('%s → not unavailable', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false)
  })

  it('only a refused new session (57P03) is a shutdown notice; a terminated one (57P01) is not', () => {
    expect(isServerShuttingDown(pgError('57P03'))).toBe(true)
    expect(isServerShuttingDown(pgError('57P01'))).toBe(false)
    expect(isServerShuttingDown(pgError('ECONNREFUSED'))).toBe(false)
  })
})
