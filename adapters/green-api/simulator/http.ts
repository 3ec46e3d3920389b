import express, { type Request, type Response, type Router } from 'express'
import type { GreenApiSimulator, PairResult, ScanResult, SimResponse } from './simulator'

export interface SimulatorRouterOptions {
  /** Where the Green-API surface lives; the instance apiUrl is `${origin}${mountPath}`. */
  mountPath?: string
}

export const DEFAULT_SIMULATOR_MOUNT_PATH = '/__sim/green-api'
const DEFAULT_PHONE = '+33612345678'

/**
 * One express Router, to mount at the app root (`app.use(createGreenApiSimulatorRouter(sim))`):
 * - the Green-API surface under `mountPath`: `/waInstance:id/:method/:token` (GET/POST) and
 *   `/partner/:method/:token`;
 * - the simulated phone: `GET|POST /dev/simulator/scan/:instanceId/:nonce`,
 *   `GET|POST /dev/simulator/pair`. No login: the "phone" is not a user.
 */
export function createGreenApiSimulatorRouter(sim: GreenApiSimulator, opts: SimulatorRouterOptions = {}): Router {
  const router = express.Router()
  router.use(normalizeMount(opts.mountPath ?? DEFAULT_SIMULATOR_MOUNT_PATH), createGreenApiApiRouter(sim))
  router.use('/dev/simulator', createSimulatedPhoneRouter(sim))
  return router
}

function normalizeMount(p: string): string {
  const withSlash = p.startsWith('/') ? p : `/${p}`
  return withSlash.replace(/\/+$/, '') || '/'
}

function originOf(req: Request): { host?: string; origin?: string } {
  const host = req.get('host')
  return host ? { host, origin: `${req.protocol}://${host}` } : {}
}

/** Origin + the path this router is mounted at: where the simulator serves its pictures. */
function apiBaseOf(req: Request): { apiBase?: string } {
  const host = req.get('host')
  return host ? { apiBase: `${req.protocol}://${host}${req.baseUrl}` } : {}
}

function queryOf(req: Request): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.query)) if (typeof v === 'string') out[k] = v
  return out
}

/** Reads the body whether or not an upstream middleware already parsed it. */
function readJsonBody(req: Request): { ok: true; body: unknown } | { ok: false; message: string } {
  const b: unknown = req.body
  if (b === undefined || b === null) return { ok: true, body: undefined }
  if (Buffer.isBuffer(b)) return parseText(b.toString('utf8'))
  if (typeof b === 'string') return parseText(b)
  if (typeof b === 'object' && Object.keys(b).length === 0 && !req.is('application/json')) return { ok: true, body: undefined }
  return { ok: true, body: b }
}

function parseText(raw: string): { ok: true; body: unknown } | { ok: false; message: string } {
  if (raw.trim() === '') return { ok: true, body: undefined }
  try {
    return { ok: true, body: JSON.parse(raw) }
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : 'Unexpected token in JSON' }
  }
}

function send(req: Request, res: Response, out: SimResponse): void {
  if (out.reset) {
    req.socket.destroy()
    return
  }
  res.status(out.status)
  for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v)
  res.setHeader('cache-control', 'no-store')
  if (out.rawBytes !== undefined) {
    res.send(Buffer.from(out.rawBytes))
    return
  }
  if (out.rawBody !== undefined) {
    if (!res.getHeader('content-type')) res.setHeader('content-type', 'text/plain; charset=utf-8')
    res.send(out.rawBody)
    return
  }
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.send(JSON.stringify(out.body === undefined ? null : out.body))
}

/** The Green-API HTTP surface alone (mount it where you want the apiUrl to point). */
function createGreenApiApiRouter(sim: GreenApiSimulator): Router {
  const router = express.Router()
  // Raw text so malformed JSON gets Green-API's 400 instead of express's HTML error page.
  router.use(express.text({ type: () => true, limit: '1mb' }))

  // Both surfaces: JSON body parsed like Green-API does (its 400 text when malformed), then
  // handed to the simulator with the path parameters.
  const forward =
    (call: (params: Record<string, string>, body: unknown, req: Request) => Promise<SimResponse>) =>
    (req: Request, res: Response, next: (err?: unknown) => void) => {
      const parsed = readJsonBody(req)
      if (!parsed.ok) {
        res.status(400).json({ message: `Unexpected token in JSON: ${parsed.message.slice(0, 80)}` })
        return
      }
      call(req.params as unknown as Record<string, string>, parsed.body, req)
        .then((out) => send(req, res, out))
        .catch(next)
    }

  // The simulated account's profile picture, served by the simulator itself (decision 241).
  router.get(/^\/simAvatar\/(\d{1,20})\.png$/, (req, res, next) => {
    const params = req.params as unknown as Record<string, string>
    sim
      .avatarImage(params['0'] ?? '')
      .then((out) => send(req, res, out))
      .catch(next)
  })

  router.all(
    // The optional segment after the token: deleteNotification's receiptId.
    /^\/waInstance(\d+)\/([A-Za-z]+)\/([^/]+)(?:\/([^/]+))?\/?$/,
    forward((params, body, req) =>
      sim.handle({
        instanceId: params['0'] ?? '',
        method: params['1'] ?? '',
        token: decodeURIComponent(params['2'] ?? ''),
        ...(params['3'] === undefined ? {} : { pathTail: decodeURIComponent(params['3']) }),
        query: queryOf(req),
        httpMethod: req.method,
        body,
        ...originOf(req),
        ...apiBaseOf(req),
      }),
    ),
  )

  router.all(
    /^\/partner\/([A-Za-z]+)\/([^/]+)\/?$/,
    forward((params, body, req) =>
      sim.handlePartner({
        method: params['0'] ?? '',
        token: decodeURIComponent(params['1'] ?? ''),
        httpMethod: req.method,
        body,
        ...originOf(req),
      }),
    ),
  )
  return router
}

// ---------------------------------------------------------------------------------------------
// Simulated phone (HTML, inline CSS, no external assets)
// ---------------------------------------------------------------------------------------------

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(title)} · Téléphone simulé</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; background: #ece5dd; color: #111; margin: 0; }
  main { max-width: 26rem; margin: 2rem auto; background: #fff; border-radius: 1.25rem; padding: 1.5rem;
         box-shadow: 0 4px 18px rgba(0,0,0,.12); border: 6px solid #222; }
  .banner { background: #fff3cd; color: #5c4400; border: 1px solid #e0c36c; border-radius: .5rem;
            padding: .5rem .75rem; font-weight: 600; margin-bottom: 1rem; }
  h1 { font-size: 1.25rem; margin: 0 0 .75rem; }
  label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
  input { width: 100%; box-sizing: border-box; font-size: 1rem; padding: .6rem; border: 1px solid #888; border-radius: .4rem; }
  button { margin-top: 1rem; width: 100%; font-size: 1rem; padding: .7rem; border: 0; border-radius: .4rem;
           background: #075e54; color: #fff; font-weight: 700; cursor: pointer; }
  button:focus-visible, input:focus-visible { outline: 3px solid #0b5ed7; outline-offset: 2px; }
  .ok { color: #0f5132; } .err { color: #842029; }
  code { background: #f1f1f1; padding: .1rem .3rem; border-radius: .25rem; }
</style>
</head>
<body>
<main>
<p class="banner" role="note">Téléphone SIMULÉ — simulateur Green-API (aucun vrai WhatsApp n'est utilisé)</p>
${body}
</main>
</body>
</html>`
}

function scanFormPage(instanceId: string, action: string, phone: string, error?: string): string {
  return page(
    'Scanner le QR code',
    `<h1>Scanner le QR code</h1>
<p>Instance <code>${esc(instanceId)}</code></p>
${error ? `<p class="err" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="${esc(action)}">
  <label for="phoneNumber">Numéro de téléphone (E.164)</label>
  <input id="phoneNumber" name="phoneNumber" type="tel" value="${esc(phone)}" autocomplete="off" required>
  <button type="submit">Scanner</button>
</form>`,
  )
}

function pairFormPage(code = '', phone = '', error?: string): string {
  return page(
    'Associer avec un code',
    `<h1>Associer avec un code</h1>
${error ? `<p class="err" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/dev/simulator/pair">
  <label for="code">Code d'association</label>
  <input id="code" name="code" value="${esc(code)}" autocomplete="off" required>
  <label for="phoneNumber">Numéro de téléphone (E.164, facultatif)</label>
  <input id="phoneNumber" name="phoneNumber" type="tel" value="${esc(phone)}" autocomplete="off">
  <button type="submit">Associer</button>
</form>`,
  )
}

function linkedPage(instanceId: string, phoneE164: string): string {
  return page(
    'Téléphone lié',
    `<h1 class="ok">Téléphone lié ✔</h1>
<p>Le numéro <strong>${esc(phoneE164)}</strong> est maintenant lié à l'instance <code>${esc(instanceId)}</code>.</p>
<p>Vous pouvez revenir à l'application.</p>`,
  )
}

const SCAN_ERRORS: Record<Exclude<ScanResult, { ok: true }>['reason'], { status: number; text: string }> = {
  unknown_instance: { status: 404, text: 'Instance inconnue.' },
  stale_qr: { status: 410, text: 'QR expiré : ce QR code a été renouvelé. Générez-en un nouveau et scannez-le à nouveau.' },
  already_linked: { status: 409, text: 'Cette instance est déjà liée à un téléphone.' },
  not_linkable: { status: 409, text: "L'instance n'est pas prête à être liée (démarrage, bloquée…)." },
  invalid_phone: { status: 400, text: 'Numéro de téléphone invalide (format E.164 attendu, ex. +33612345678).' },
}
const PAIR_ERRORS: Record<Exclude<PairResult, { ok: true }>['reason'], { status: number; text: string }> = {
  unknown_code: { status: 404, text: "Code d'association inconnu." },
  expired_code: { status: 410, text: "Code d'association expiré. Demandez-en un nouveau." },
  phone_mismatch: { status: 409, text: 'Ce code a été demandé pour un autre numéro.' },
  not_linkable: { status: 409, text: "L'instance n'est pas prête à être liée." },
  invalid_phone: { status: 400, text: 'Numéro de téléphone invalide (format E.164 attendu).' },
}

function formField(req: Request, name: string): string | undefined {
  const b = req.body as Record<string, unknown> | undefined
  const v = b && typeof b === 'object' ? b[name] : undefined
  return typeof v === 'string' ? v : undefined
}

/** The simulated phone pages alone (mount at `/dev/simulator`). */
function createSimulatedPhoneRouter(sim: GreenApiSimulator): Router {
  const router = express.Router()
  // Only on the phone's own paths: anything else under /dev/simulator (the app's control page)
  // must reach Remix with its body unread and without this page's CSP.
  const phonePaths = ['/scan/:instanceId/:nonce', '/pair']
  router.use(phonePaths, express.urlencoded({ extended: false, limit: '16kb' }))
  router.use(phonePaths, (_req, res, next) => {
    res.setHeader('cache-control', 'no-store')
    res.setHeader('x-robots-tag', 'noindex')
    res.setHeader(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    )
    next()
  })

  router.get('/scan/:instanceId/:nonce', (req, res, next) => {
    const instanceId = req.params.instanceId ?? ''
    // On the state every process shares (decision 215): the QR may come from another one.
    sim
      .shared(() => ({ inst: sim.instance(instanceId), valid: sim.isQrNonceValid(instanceId, req.params.nonce ?? '') }))
      .then(({ inst, valid }) => scanPage(inst, valid), next)
    const scanPage = (inst: ReturnType<GreenApiSimulator['instance']>, valid: boolean): void => {
      if (!inst || inst.deleted) {
        res.status(404).type('html').send(page('Instance inconnue', `<h1 class="err">Instance inconnue</h1>`))
        return
      }
      if (inst.state === 'notAuthorized' && !valid) {
        const err = SCAN_ERRORS.stale_qr
        res
          .status(err.status)
          .type('html')
          .send(page('QR expiré', `<h1 class="err">QR expiré</h1><p class="err" role="alert">${esc(err.text)}</p>`))
        return
      }
      res.type('html').send(scanFormPage(instanceId, req.originalUrl.split('?')[0] ?? '', DEFAULT_PHONE))
    }
  })

  router.post('/scan/:instanceId/:nonce', (req, res, next) => {
    const instanceId = req.params.instanceId ?? ''
    const phone = formField(req, 'phoneNumber')?.trim() || DEFAULT_PHONE
    sim.shared(() => sim.scan(instanceId, req.params.nonce ?? '', phone)).then((result) => scanned(result), next)
    const scanned = (result: ScanResult): void => {
      if (result.ok) {
        res.type('html').send(linkedPage(result.instanceId, result.phoneE164))
        return
      }
      const err = SCAN_ERRORS[result.reason]
      const title = result.reason === 'stale_qr' ? 'QR expiré' : 'Échec du scan'
      res
        .status(err.status)
        .type('html')
        .send(page(title, `<h1 class="err">${esc(title)}</h1><p class="err" role="alert">${esc(err.text)}</p>`))
    }
  })

  // `?code=`: the app's "open the pairing screen" link fills in the code it shows (decision 216).
  router.get('/pair', (req, res) => {
    const code = typeof req.query.code === 'string' ? req.query.code.slice(0, 16) : ''
    res.type('html').send(pairFormPage(code))
  })

  router.post('/pair', (req, res, next) => {
    const code = formField(req, 'code')?.trim() ?? ''
    const phone = formField(req, 'phoneNumber')?.trim() ?? ''
    if (code === '') {
      res
        .status(400)
        .type('html')
        .send(pairFormPage(code, phone, "Saisissez le code d'association."))
      return
    }
    sim.shared(() => sim.pair(code, phone === '' ? undefined : phone)).then((result) => paired(result), next)
    const paired = (result: PairResult): void => {
      if (result.ok) {
        res.type('html').send(linkedPage(result.instanceId, result.phoneE164))
        return
      }
      const err = PAIR_ERRORS[result.reason]
      res
        .status(err.status)
        .type('html')
        .send(pairFormPage(code, phone, err.text))
    }
  })
  return router
}
