import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeQr } from '../utils/wa-harness'
import { startServer, type RunningServer } from './support'

const run = promisify(execFile)
const root = path.resolve(__dirname, '../..')
const E2E_ENV = {
  JWT_SECRET: 'e2e-jwt-secret-0123456789-abcdefghijklmnop',
  WA_ENCRYPTION_KEYS: `e2e:${Buffer.alloc(32, 7).toString('base64')}`,
}

let server: RunningServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(() => server?.stop())

/** `npm run token -- --tenant macrea` against the same database and secret as the server. */
async function mintToken(): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'server/token.ts', '--tenant', 'macrea'],
    {
      cwd: root,
      env: { ...process.env, ...E2E_ENV },
    },
  )
  const last = stdout.trim().split('\n').at(-1) ?? ''
  expect(last).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
  return last
}

// Black box, as a newcomer would: the app started like `npm start`, the simulator inside it, a
// QR decoded from the PNG the API returns, the simulated phone "scanned" over HTTP.
describe('the Green-API simulator behind npm start', () => {
  it('links a phone from the decoded QR and reports it connected', async () => {
    const token = await mintToken()
    const auth = { authorization: `Bearer ${token}` }
    const gen = await fetch(`${server.url}/api/wa/qr/generate`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(gen.status).toBe(200)
    const { qrCode } = await gen.json()
    const scanUrl = await decodeQr(qrCode)
    expect(scanUrl.startsWith(`${server.url}/dev/simulator/scan/`)).toBe(true)

    const page = await fetch(scanUrl)
    expect(page.status).toBe(200)
    expect(await page.text()).toMatch(/simulé/i)

    const scanned = await fetch(scanUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'phoneNumber=%2B33698765432',
    })
    expect(scanned.status).toBe(200)

    let status: Record<string, unknown> = {}
    for (let i = 0; i < 40; i++) {
      status = await (await fetch(`${server.url}/api/wa/qr/status`, { headers: auth })).json()
      if (status.connected) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(status).toMatchObject({ connected: true, status: 'authorized', phoneNumber: '+33698765432' })

    const sent = await fetch(`${server.url}/api/wa/test`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(sent.status).toBe(200)
    expect(await sent.json()).toMatchObject({ ok: true, idMessage: expect.any(String) })

    const off = await fetch(`${server.url}/api/wa/disconnect`, { method: 'POST', headers: auth })
    expect(await off.json()).toEqual({ ok: true, message: 'WhatsApp déconnecté avec succès' })
  })

  it('serves the simulator only in simulator mode and says which mode is active', () => {
    expect(server.output()).toContain('Green-API mode: simulator')
  })
})
