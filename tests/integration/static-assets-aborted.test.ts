import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAppProcess, type AppProcess } from './reliability-support'

/**
 * A client that goes away while /favicon.svg is on its way (a tab closed, a load generator
 * closing its connections) is nothing to report. The file's handler fell through to Remix on
 * any send error, and Remix then threw on the half-closed response: an "unhandled HTTP error"
 * line per aborted request (50 per bench phase). The app runs as `npm start` runs it, so its log
 * lines are its output.
 */
let app: AppProcess
beforeAll(async () => {
  app = await startAppProcess({ LOG_LEVEL: 'info' })
})
afterAll(async () => {
  await app?.stop()
})

/** Sends `GET path` on a raw socket and closes it at once or on the next turn, before any answer. */
function abortedGet(port: number, path: string, later: boolean): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
      if (later) setImmediate(() => socket.destroy())
      else socket.destroy()
    })
    socket.on('close', () => resolve())
    socket.on('error', () => resolve())
  })
}

describe('static files, the client gone', () => {
  it('an aborted /favicon.svg logs no error, and the file is still served after', async () => {
    const port = Number(new URL(app.url).port)
    for (let round = 0; round < 5; round++)
      await Promise.all(Array.from({ length: 50 }, (_, i) => abortedGet(port, '/favicon.svg', i % 2 === 1)))
    const res = await fetch(`${app.url}/favicon.svg`)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('<svg')
    const errors = app
      .output()
      .split('\n')
      .filter((l) => l.includes('"level":50'))
    expect(errors).toEqual([])
  })
})
