import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { startEmbeddedPg, type EmbeddedPgHandle } from '../../server/embedded-pg'
import { freePort } from '../utils/free-port'

const root = path.resolve(__dirname, '../..')
const dataDir = path.join(root, '.data', `embedded-pg-test-${process.pid}`, 'pg')
const handles: EmbeddedPgHandle[] = []

async function query(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: `${url}/postgres` })
  await c.connect()
  const r = await c.query('select 1 as one')
  await c.end()
  return r.rows[0].one as number
}

afterAll(async () => {
  for (const h of handles) await h.stop().catch(() => {})
  fs.rmSync(path.dirname(dataDir), { recursive: true, force: true })
})

// The lifecycle `npm start` relies on: a killed run leaves a stale postmaster.pid that the next
// start recovers from; a port taken by another program is a clear error, not a hang.
describe('embedded PostgreSQL lifecycle', () => {
  it('recovers from a stale postmaster.pid left by a killed run, then reuses the data', async () => {
    const port = await freePort()
    const first = await startEmbeddedPg({ dataDir, port, password: 'pw-test', log: () => {} })
    handles.push(first)
    expect(first.ownedByUs).toBe(true)
    expect(await query(first.serverUrl)).toBe(1)

    // Simulate a kill -9 of the whole run: PostgreSQL dies without removing its pid file.
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
    process.kill(pid, 'SIGKILL')
    for (let i = 0; i < 50 && fs.existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100))
    expect(fs.existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(true)

    const lines: string[] = []
    const second = await startEmbeddedPg({ dataDir, port, password: 'pw-test', log: (l) => lines.push(l) })
    handles.push(second)
    expect(lines.join('\n')).toContain('stale')
    expect(await query(second.serverUrl)).toBe(1)

    // A second user of the same data dir (npm run token while npm start runs) reuses it.
    const third = await startEmbeddedPg({ dataDir, port, password: 'pw-test', log: () => {} })
    expect(third.ownedByUs).toBe(false)
    await third.stop()
    expect(await query(second.serverUrl)).toBe(1)

    // Asked for another port (EMBEDDED_PG_PORT differs between the app and a CLI), it finds the
    // running server's port in postmaster.pid instead of advising to kill it.
    const elsewhere = await startEmbeddedPg({ dataDir, port: await freePort(), password: 'pw-test', log: () => {} })
    expect(elsewhere.ownedByUs).toBe(false)
    expect(elsewhere.serverUrl).toBe(second.serverUrl)
    expect(await query(elsewhere.serverUrl)).toBe(1)
  })

  it('says clearly when the port is taken by another program', async () => {
    const blocker = net.createServer((s) => {
      s.on('error', () => {})
      s.end('not postgres\n')
    })
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)),
    )
    try {
      await expect(
        startEmbeddedPg({ dataDir: path.join(os.tmpdir(), `never-${process.pid}`), port, password: 'x', log: () => {} }),
      ).rejects.toThrow(/already used by another program/)
    } finally {
      blocker.close()
    }
  })
})
