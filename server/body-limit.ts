import { edgeText } from './edge-texts'
import type { NextFunction, Request, Response } from 'express'

/**
 * One request-body limit for every Remix route, enforced in the express shell before Remix,
 * authentication or any `request.text()` / `formData()` run (decision 090).
 *
 * The body is read here, counting streamed bytes (chunked uploads have no Content-Length), and
 * kept as one Buffer of at most the limit, which the Remix handler hands to the route
 * (`bufferedBody`). Past the limit the client gets `413 PAYLOAD_TOO_LARGE` in the error envelope
 * with `Connection: close`: the answer is written at once, then the rest of the upload is read
 * and dropped for a bounded time, so the client reads the answer instead of a reset, and an
 * abusive upload cannot hold the socket or the memory.
 */
export interface BodyLimits {
  /** `POST /api/wa/webhooks/…` (Green-API notifications). */
  webhookBytes: number
  /** JSON and any other content type. */
  jsonBytes: number
  /** `application/x-www-form-urlencoded` and `multipart/form-data` (the pages' forms). */
  formBytes: number
}

export const DEFAULT_BODY_LIMITS: BodyLimits = { webhookBytes: 64 * 1024, jsonBytes: 16 * 1024, formBytes: 8 * 1024 }

/**
 * After answering 413, the rest of the upload is read and dropped (no memory kept) for at most
 * this long, then the socket is closed: nginx's "lingering close". Closing with unread bytes
 * makes the kernel send a reset, which wipes the client's unread answer too, and a client busy
 * sending reads late (Node's http client, measured on loopback: 4 to 14 MB after the answer was
 * written), so the cap is a time, not a byte count (an 8 MiB cap lost the answer about 1 in 3).
 */
const LINGER_MAX_MS = 5_000

const BUFFERED = Symbol('bufferedBody')
type WithBody = Request & { [BUFFERED]?: Buffer }

/** The body `limitRequestBody` read, if the request had one. */
export function bufferedBody(req: Request): Buffer | undefined {
  return (req as WithBody)[BUFFERED]
}

function limitFor(req: Pick<Request, 'path' | 'headers'>, limits: BodyLimits): number {
  if (req.path.startsWith('/api/wa/webhooks/')) return limits.webhookBytes
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data') return limits.formBytes
  return limits.jsonBytes
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? '0') > 0
}

/** Express middleware: reads the body under the limit or answers 413 (see the module comment). */
export function limitRequestBody(limits: () => BodyLimits = () => DEFAULT_BODY_LIMITS) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!hasBody(req)) return next()
    const limit = limitFor(req, limits())
    if (Number(req.headers['content-length'] ?? '0') > limit) return refuse(req, res, limit)
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        settled = true
        detach()
        chunks.length = 0
        refuse(req, res, limit)
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      if (settled) return
      settled = true
      detach()
      ;(req as WithBody)[BUFFERED] = Buffer.concat(chunks, size)
      next()
    }
    // The client went away mid-upload: nothing to answer (the socket is already gone).
    const onError = () => {
      settled = true
      detach()
    }
    const detach = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  }
}

/**
 * Writes the 413 envelope in full (with its length, so the client has the whole answer), keeps
 * reading and dropping the upload until it ends, the client goes away or `LINGER_MAX_MS` passed,
 * then ends the response, which closes the socket (`Connection: close`).
 */
function refuse(req: Request, res: Response, limit: number): void {
  const body = JSON.stringify({
    ok: false,
    error: 'PAYLOAD_TOO_LARGE',
    message: edgeText(req.headers, 'api.body.tooLarge', { bytes: limit }),
  })
  res.writeHead(413, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    Connection: 'close',
  })
  res.write(body)
  const finish = () => {
    clearTimeout(timer)
    req.off('end', finish)
    req.off('error', finish)
    if (!res.writableEnded) res.end()
  }
  const timer = setTimeout(finish, LINGER_MAX_MS)
  timer.unref()
  req.once('end', finish)
  req.once('error', finish)
  res.once('close', finish)
  req.resume()
}
