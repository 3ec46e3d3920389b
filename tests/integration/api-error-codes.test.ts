import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_ERROR_CODES } from '../../app/api/error-codes'
import { DOMAIN_ERRORS } from '../../app/utils/http-errors.server'
import { startTestApp, type TestApp } from '../utils/app'

// Every error code the server can answer is in API_ERROR_CODES, and the OpenAPI document's
// error envelope is that closed enum (issue 14, items 1 and 10). The type check covers code
// that goes through `errorResponse` / the domain table (both typed by the list); this scan
// covers the envelopes written by hand (the express shell, resource routes), which TypeScript
// cannot see: every `error: '…'`, `errorResponse(status, '…'` and page `code: '…'` literal in
// app/ and server/.
const root = path.resolve(__dirname, '../..')
const listed: ReadonlySet<string> = new Set(API_ERROR_CODES)

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(rel)
    return /\.(ts|tsx|mjs|js)$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [rel] : []
  })
}

/** The upper-case string literals a source gives as an envelope's `error` (or a page result's `code`). */
function codesWritten(source: string): string[] {
  const found: string[] = []
  // `error: 'X'`, `error: cond ? 'X' : 'Y'` (up to the end of the property), `code: 'X'`.
  for (const m of source.matchAll(/\b(?:error|code|apiCode)\s*:\s*([^,\n}]*)/g)) {
    for (const lit of m[1]!.matchAll(/['"`]([A-Z][A-Z0-9_]+)['"`]/g)) found.push(lit[1]!)
  }
  // errorResponse(401, 'X', …) or localizedError(401, 'X', …), possibly over several lines.
  for (const m of source.matchAll(/(?:errorResponse|localizedError)\(\s*\d{3}\s*,\s*['"`]([A-Z][A-Z0-9_]+)['"`]/g))
    found.push(m[1]!)
  return found
}

function codesInTree(): Map<string, string[]> {
  const where = new Map<string, string[]>()
  for (const file of [...sourceFiles('app'), ...sourceFiles('server')]) {
    for (const code of codesWritten(fs.readFileSync(path.join(root, file), 'utf8')))
      where.set(code, [...(where.get(code) ?? []), file])
  }
  return where
}

describe('API_ERROR_CODES', () => {
  it('lists every code written in app/ and server/ (and the scan does find the hand-written envelopes)', () => {
    const where = codesInTree()
    const unlisted = [...where]
      .filter(([code]) => !listed.has(code))
      .map(([code, files]) => `${code} (${[...new Set(files)].join(', ')})`)
    expect(unlisted).toEqual([])
    // Positive control: the envelopes the express shell and resource routes write by hand.
    for (const code of ['METHOD_NOT_ALLOWED', 'PAYLOAD_TOO_LARGE', 'CSRF_REJECTED', 'INTERNAL', 'NOT_FOUND', 'UNAUTHENTICATED']) {
      expect(where.has(code), code).toBe(true)
    }
  })

  it('the scan catches a new code in each form it looks for', () => {
    const sample = [
      "res.json({ ok: false, error: 'TEAPOT_ONE', message: 'x' })",
      "const body = { ok: false, error: big ? 'TEAPOT_TWO' : 'VALIDATION_FAILED', message }",
      "return errorResponse(\n  418,\n  'TEAPOT_THREE',\n  'short and stout')",
      "return result({ intent, ok: false, code: 'TEAPOT_FOUR', message })",
      "throw localizedError(\n  418,\n  'TEAPOT_FIVE',\n  'api.teapot')",
    ].join('\n')
    expect(codesWritten(sample).filter((c) => !listed.has(c))).toEqual([
      'TEAPOT_ONE',
      'TEAPOT_TWO',
      'TEAPOT_FOUR',
      'TEAPOT_THREE',
      'TEAPOT_FIVE',
    ])
  })

  it('has no code nothing answers (each is written somewhere or is a domain table apiCode)', () => {
    const answered = new Set([...codesInTree().keys(), ...Object.values(DOMAIN_ERRORS).map((e) => e.apiCode)])
    expect(API_ERROR_CODES.filter((c) => !answered.has(c))).toEqual([])
  })
})

describe('the OpenAPI error envelope', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp()
  })
  afterAll(async () => {
    await app?.close()
  })

  it('types `error` as the enum of API_ERROR_CODES (what /api/openapi.json serves)', async () => {
    const res = await fetch(`${app.url}/api/openapi.json`)
    expect(res.status).toBe(200)
    const doc = (await res.json()) as {
      components: { schemas: Record<string, { properties: Record<string, { type?: string; enum?: string[] }> }> }
    }
    const error = doc.components.schemas.Error!.properties.error!
    expect(error.type).toBe('string')
    expect(error.enum).toEqual([...API_ERROR_CODES])
  })
})
