import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { useWaApp } from '../utils/wa-harness'
import { STACK_LINE, expectError } from './api-support'

/**
 * Issue 13: errors outside the use cases keep the envelope, and nothing but JSON lines reaches
 * the log. The app's pino stream goes to LOG_FILE (trace level); whatever else the process
 * prints (console, stderr) is captured too.
 */
const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wa-edge-logs-')), 'app.log')
const h = useWaApp({ env: { LOG_LEVEL: 'trace', LOG_FILE: logFile } })

const READ_ONLY = ['/api/settings/features', '/api/wa/qr/status', '/api/wa/events', '/api/openapi.json']
const POST_ONLY = [
  '/api/wa/qr/generate',
  '/api/wa/disconnect',
  '/api/wa/pairing-code',
  '/api/wa/test',
  '/api/wa/webhooks/green-api/1101000001',
]

let printed: string[] = []
beforeEach(() => {
  printed = []
  const keep = (...args: unknown[]) => void printed.push(args.map(String).join(' '))
  for (const method of ['error', 'warn', 'log', 'info'] as const) vi.spyOn(console, method).mockImplementation(keep)
  const write = process.stderr.write.bind(process.stderr)
  vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    printed.push(String(chunk))
    return write(chunk as string, ...(rest as []))
  }) as typeof process.stderr.write)
})
afterEach(() => vi.restoreAllMocks())

const owner = () => ({ authorization: `Bearer ${h.tokens.owner}`, 'x-tenant': 'macrea' })

describe('/api answers the envelope for the wrong verb and unknown paths', () => {
  it('POST, PUT, DELETE on a read-only route → 405 METHOD_NOT_ALLOWED with Allow: GET, HEAD', async () => {
    for (const p of READ_ONLY) {
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const res = await fetch(`${h.app.url}${p}`, {
          method,
          headers: { ...owner(), 'content-type': 'application/json' },
          body: '{}',
        })
        expect(res.headers.get('allow'), `${method} ${p}`).toBe('GET, HEAD')
        const body = await expectError(res, 405, 'METHOD_NOT_ALLOWED')
        expect(JSON.stringify(body)).not.toMatch(STACK_LINE)
      }
    }
  })

  it('GET, PUT on a POST route → 405 METHOD_NOT_ALLOWED with Allow: POST', async () => {
    for (const p of POST_ONLY) {
      for (const method of ['GET', 'PUT']) {
        const res = await fetch(`${h.app.url}${p}`, { method, headers: owner(), ...(method === 'PUT' ? { body: '{}' } : {}) })
        expect(res.headers.get('allow'), `${method} ${p}`).toBe('POST')
        await expectError(res, 405, 'METHOD_NOT_ALLOWED')
      }
    }
  })

  it('unknown /api paths → 404 NOT_FOUND for any verb', async () => {
    for (const p of ['/api/nope', '/api/wa/nope/deeper', '/api/wa/qr/status/extra']) {
      for (const method of ['GET', 'POST']) {
        await expectError(await fetch(`${h.app.url}${p}`, { method, headers: owner() }), 404, 'NOT_FOUND')
      }
    }
  })
})

describe('the log holds JSON lines only', () => {
  it('unknown pages, unknown /api paths and wrong verbs print no stack trace and no plain text', async () => {
    const before = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').length : 0
    for (const p of ['/no-such-page', '/settings/nope', '/api/nope', '/build/nope.js'])
      await (await fetch(`${h.app.url}${p}`)).text()
    await (await fetch(`${h.app.url}/api/wa/qr/status`, { method: 'POST', headers: owner() })).text()
    await (
      await fetch(`${h.app.url}/healthz`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    ).text()
    await (await fetch(`${h.app.url}/api/wa/test`, { headers: owner() })).text()

    // React Router's development build (NODE_ENV is `test` here) warns on the console for a URL
    // no route matches; its production build has no such warning. Everything else must be JSON.
    const devWarning = /^No routes matched location "[^"]*" $/
    expect(printed.filter((l) => l.trim() && !isJson(l) && !devWarning.test(l))).toEqual([])
    const lines = fs.readFileSync(logFile, 'utf8').slice(before).split('\n').filter(Boolean)
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) {
      expect(isJson(line), line).toBe(true)
      expect(line).not.toMatch(/\\n\s+at /)
    }
  })
})

function isJson(line: string): boolean {
  try {
    return typeof JSON.parse(line) === 'object'
  } catch {
    return false
  }
}
