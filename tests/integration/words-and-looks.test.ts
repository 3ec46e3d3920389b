import { beforeAll, describe, expect, it } from 'vitest'
import { langCookie } from '../../app/utils/lang.server'
import { sessionCookie } from '../utils/auth-fixtures'
import { testDb } from '../utils/db'
import { useWaApp } from '../utils/wa-harness'
import { STACK_LINE, expectError, get, linkByScan, newTenant, post, type TenantActor } from './api-support'

// Issue 16, "words and looks a French or English admin trusts": error pages in the reader's
// language, waits in words ("dans 59 min", not "3525 s"), "15 €/mois" as French sets it, national
// numbers ("06 12 34 56 78") wherever a phone is typed, one issue per field, and API texts in one
// language per answer (Accept-Language, French by default). Decisions 220–222.
const h = useWaApp({
  instances: 4,
  env: {
    WA_RATE_LIMIT_QR: '1/3600',
    WA_RATE_LIMIT_TEST: '100/3600',
    // The OAuth pages (start, failed callback) have titles too; no provider is called here.
    OAUTH_GITHUB_CLIENT_ID: 'github-client-id',
    OAUTH_GITHUB_CLIENT_SECRET: 'github-client-secret',
    // /metrics behind a token, and one event stream per user: their refusals have words too.
    METRICS_TOKEN: 'metrics-token-for-words-and-looks',
    SSE_MAX_PER_USER: '1',
  },
})
const EN = { 'accept-language': 'en-GB,en;q=0.9' }
const NBSP = '\u00a0'

let linked: TenantActor
let instanceId: string
beforeAll(async () => {
  linked = await newTenant()
  instanceId = await linkByScan(h, linked, '+33611112222')
})

/** The visible part of a page: what <body> holds before Remix's scripts. */
const bodyOf = (html: string) => /<body>([\s\S]*?)<(?:link rel="modulepreload"|script)/.exec(html)?.[1] ?? ''

describe('error pages', () => {
  it('an unknown URL: the language of the lang cookie (over Accept-Language), inside <main>, no stack', async () => {
    const cookie = await langCookie.serialize('en')
    const res = await fetch(`${h.app.url}/settings/no-such-page`, { headers: { cookie, 'accept-language': 'fr' } })
    expect(res.status).toBe(404)
    const html = await res.text()
    expect(html).toContain('<html lang="en"')
    expect(html).toContain('Page not found')
    expect(html).toContain('The address you asked for does not exist, or no longer does.')
    expect(html).not.toContain('Page introuvable')
    // Everything the body shows is in the one <main> landmark.
    expect(bodyOf(html)).toMatch(/^<main class="page" lang="en">[\s\S]*<\/main>$/)
    expect(html).not.toMatch(STACK_LINE)
  })

  it('another error (a POST where no form exists): "Une erreur est survenue" in French, English by Accept-Language', async () => {
    const fr = await fetch(`${h.app.url}/`, { method: 'POST', headers: { origin: h.app.url } })
    expect(fr.status).toBe(405)
    const frHtml = await fr.text()
    expect(bodyOf(frHtml)).toMatch(/^<main class="page" lang="fr"><h1>Une erreur est survenue<\/h1>/)
    expect(frHtml).toContain('Nous n’avons pas pu afficher cette page. Réessayez dans un instant.')
    expect(frHtml).toContain('Retour à l’accueil')
    expect(frHtml).not.toMatch(STACK_LINE)
    // Remix's own English ("did not provide an `action`") stays out of what the page shows.
    expect(bodyOf(frHtml)).not.toMatch(/Method Not Allowed|action/i)

    const en = await fetch(`${h.app.url}/`, { method: 'POST', headers: { origin: h.app.url, ...EN } })
    expect(en.status).toBe(405)
    const enHtml = await en.text()
    expect(bodyOf(enHtml)).toMatch(/^<main class="page" lang="en"><h1>Something went wrong<\/h1>/)
    expect(enHtml).not.toContain('Une erreur est survenue')
  })
})

describe('page titles', () => {
  /** The document's one <title> (none, or two, fail). */
  async function titleOf(res: Response, status: number): Promise<string> {
    expect(res.status).toBe(status)
    const titles = [...(await res.text()).matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1])
    expect(titles).toHaveLength(1)
    return titles[0]!
  }
  const page = async (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
    fetch(`${h.app.url}${path}`, { redirect: 'manual', ...init, headers: { ...headers, ...(init.headers as object) } })

  it('error pages: "Page introuvable", "Une erreur est survenue", "Accès non autorisé" in the page’s language', async () => {
    expect(await titleOf(await page('/no-such-page'), 404)).toBe('Page introuvable · WhatsApp Pro')
    expect(await titleOf(await page('/settings/no-such-page', EN), 404)).toBe('Page not found · WhatsApp Pro')
    const post = { method: 'POST', headers: { origin: h.app.url } }
    expect(await titleOf(await page('/', {}, post), 405)).toBe('Une erreur est survenue · WhatsApp Pro')
    expect(await titleOf(await page('/', EN, post), 405)).toBe('Something went wrong · WhatsApp Pro')

    // A member on the owners' simulator page, and posting its incoming-message form.
    const member = await newTenant({ role: 'member' })
    const cookie = await sessionCookie(testDb(), member.userId)
    const fr = await page('/dev/simulator', { cookie })
    expect(await titleOf(fr.clone(), 403)).toBe('Accès non autorisé · WhatsApp Pro')
    expect(await fr.text()).toContain('Le simulateur est réservé aux propriétaires et administrateurs')
    expect(await titleOf(await page('/dev/simulator', { cookie, ...EN }), 403)).toBe('Not allowed · WhatsApp Pro')
    const incoming = await page(
      '/dev/simulator/incoming',
      { cookie, ...EN },
      {
        method: 'POST',
        headers: { origin: h.app.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ from: '+33698765432', text: 'Bonjour' }),
      },
    )
    expect(incoming.status).toBe(403)
    const incomingHtml = await incoming.text()
    expect(incomingHtml).toContain('<title>Not allowed · WhatsApp Pro</title>')
    expect(incomingHtml).toContain('you are not allowed to use it')
    expect(incomingHtml).not.toMatch(STACK_LINE)
  })

  it('every page has its own title, in French and in English', async () => {
    const cookie = await sessionCookie(testDb(), linked.userId)
    const pages: Array<[path: string, status: number, fr: string, en: string, signedIn: boolean]> = [
      ['/', 200, 'WhatsApp Pro', 'WhatsApp Pro', false],
      ['/login', 200, 'Connexion · WhatsApp Pro', 'Sign in · WhatsApp Pro', false],
      ['/auth/github', 200, 'Connexion · WhatsApp Pro', 'Sign in · WhatsApp Pro', false],
      ['/auth/github/callback', 400, 'Connexion impossible · WhatsApp Pro', 'Sign-in failed · WhatsApp Pro', false],
      ['/logout', 200, 'Déconnexion · WhatsApp Pro', 'Sign out · WhatsApp Pro', true],
      ['/settings/whatsapp', 200, 'WhatsApp Pro · Paramètres', 'WhatsApp Pro · Settings', true],
      ['/settings/webhooks', 200, 'Webhooks CRM · Paramètres', 'CRM webhooks · Settings', true],
      ['/settings/api-tokens', 200, 'Jetons API · WhatsApp Pro', 'API tokens · WhatsApp Pro', true],
      ['/dev/simulator', 200, 'Simulateur Green-API', 'Green-API simulator', true],
    ]
    for (const [path, status, fr, en, signedIn] of pages) {
      const auth: Record<string, string> = signedIn ? { cookie } : {}
      expect(await titleOf(await page(path, { ...auth, 'accept-language': 'fr' }), status), path).toBe(fr)
      expect(await titleOf(await page(path, { ...auth, ...EN }), status), path).toBe(en)
    }
  })
})

describe('prices and waits in words', () => {
  it('"+15 €/mois" with a no-break space on the page and in the API (English: "€15/month")', async () => {
    const blocked = await newTenant({ whatsappEnabled: false })
    const cookie = await sessionCookie(testDb(), blocked.userId)
    const frPage = await (await fetch(`${h.app.url}/settings/whatsapp`, { headers: { cookie } })).text()
    expect(frPage).toContain(`<strong>+15${NBSP}€/mois</strong>`)
    expect(frPage).not.toMatch(/15€/)
    const enPage = await (await fetch(`${h.app.url}/settings/whatsapp`, { headers: { cookie, ...EN } })).text()
    expect(enPage).toContain('<strong>+€15/month</strong>')

    const fr = await expectError(await post(h, '/api/wa/qr/generate', blocked), 403, 'WHATSAPP_DISABLED')
    expect(fr.message).toBe(
      `WhatsApp n'est pas activé pour votre compte. Passez à WhatsApp Pro (+15${NBSP}€/mois) pour l'activer.`,
    )
    const en = await expectError(await post(h, '/api/wa/qr/generate', blocked, {}, EN), 403, 'WHATSAPP_DISABLED')
    expect(en.message).toBe('WhatsApp is not enabled for your account. Upgrade to WhatsApp Pro (+€15/month) to enable it.')
  })

  it('a rate limit of an hour says "Réessayez dans N min" / "Try again in N min", never thousands of seconds', async () => {
    const actor = await newTenant()
    expect((await post(h, '/api/wa/qr/generate', actor)).status).toBe(200)
    const refused = await post(h, '/api/wa/qr/generate', actor)
    const retry = Number(refused.headers.get('retry-after'))
    const fr = await expectError(refused, 429, 'RATE_LIMITED')
    const en = await expectError(await post(h, '/api/wa/qr/generate', actor, {}, EN), 429, 'RATE_LIMITED')
    // The hour's window ends in `retry` s (1…3600): said in the largest unit that fits, rounded up.
    const minutes = Math.ceil(retry / 60)
    if (retry < 60) {
      expect(fr.message).toBe(`Trop de demandes. Réessayez dans ${retry}${NBSP}s.`)
    } else if (minutes < 60) {
      expect(fr.message).toBe(`Trop de demandes. Réessayez dans ${minutes}${NBSP}min.`)
      expect(en.message).toMatch(new RegExp(`^Too many requests\\. Try again in (${minutes}|${minutes - 1}) min\\.$`))
    } else {
      expect(fr.message).toBe(`Trop de demandes. Réessayez dans 1${NBSP}h.`)
    }
    expect(fr.message).not.toMatch(/\d{3,}\s?s\b/)
    expect(en.message).not.toMatch(/\d{3,}\s?s(ec)?\b/)
  })
})

describe('national numbers and one issue per field', () => {
  it('POST /api/wa/test and /api/wa/messages take "06 12 34 56 78" as a French number', async () => {
    const test = await post(h, '/api/wa/test', linked, { to: '06 12 34 56 78', message: 'Bonjour' })
    expect(test.status, await test.clone().text()).toBe(200)
    const { idMessage } = (await test.json()) as { idMessage: string }
    expect(h.sim.instance(instanceId)!.sent.find((m) => m.idMessage === idMessage)?.chatId).toBe('33612345678@c.us')

    const queued = await post(h, '/api/wa/messages', linked, { to: '06 98 76 54 32', text: 'Bonjour' })
    expect(queued.status).toBe(202)
    expect(((await queued.json()) as { message: { to: string } }).message.to).toBe('+33698765432')
  })

  it('the settings page sends its test message to a national number', async () => {
    const cookie = await sessionCookie(testDb(), linked.userId)
    const res = await fetch(`${h.app.url}/settings/whatsapp`, {
      method: 'POST',
      headers: { cookie, origin: h.app.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ intent: 'send-test', to: '06 55 44 33 22', message: 'Test national' }),
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Message envoyé')
    expect(h.sim.instance(instanceId)!.sent.some((m) => m.chatId === '33655443322@c.us')).toBe(true)
  })

  it('a wrong number is one issue for its field, in the caller’s language', async () => {
    const fr = await expectError(await post(h, '/api/wa/test', linked, { to: '0612' }), 400, 'VALIDATION_FAILED')
    expect(fr.message).toBe('Corps de la requête invalide : le détail est dans « issues ».')
    expect(fr.issues).toEqual([
      {
        path: 'to',
        message: 'numéro invalide : format international (+33612345678) ou national du pays du compte (06 12 34 56 78)',
      },
    ])
    const en = await expectError(await post(h, '/api/wa/messages', linked, { to: '12', text: '' }, EN), 400, 'VALIDATION_FAILED')
    expect(en.message).toBe('Invalid request body: see "issues".')
    const issues = en.issues as Array<{ path: string; message: string }>
    expect(issues.map((i) => i.path)).toEqual(['to', 'text'])
    expect(issues[0]!.message).toMatch(/^not a valid phone number/)
  })
})

describe('API texts in one language per answer', () => {
  /** Words only English has: none may appear in a French answer. */
  const ENGLISH = /\b(invalid|expected|received|must|required|body|unrecognized|too (big|small))\b/i

  it('French by default for guards, body parsing and zod’s issues; English by Accept-Language', async () => {
    const anon = await fetch(`${h.app.url}/api/wa/qr/status`)
    expect(await expectError(anon, 401, 'UNAUTHENTICATED')).toMatchObject({ message: 'Authentification requise.' })
    const anonEn = await fetch(`${h.app.url}/api/wa/qr/status`, { headers: EN })
    expect(await expectError(anonEn, 401, 'UNAUTHENTICATED')).toMatchObject({ message: 'Authentication required.' })

    // Wrong types and an unknown key: zod's own texts, through zod's French locale.
    const bad = { to: 33612345678, message: 42, extra: true }
    const fr = await expectError(await post(h, '/api/wa/test', linked, bad), 400, 'VALIDATION_FAILED')
    const frTexts = [fr.message as string, ...(fr.issues as Array<{ message: string }>).map((i) => i.message)]
    expect(frTexts.length).toBe(4)
    for (const text of frTexts) expect(text).not.toMatch(ENGLISH)
    expect(frTexts.join(' ')).toContain('Clé non reconnue')
    const en = await expectError(await post(h, '/api/wa/test', linked, bad, EN), 400, 'VALIDATION_FAILED')
    expect((en.issues as Array<{ message: string }>).map((i) => i.message).join(' ')).toMatch(/Unrecognized key/)

    const notJson = await h.api('/api/wa/test', {
      method: 'POST',
      token: linked.token,
      headers: { 'content-type': 'application/json' },
      body: '{',
    })
    expect(await expectError(notJson, 400, 'VALIDATION_FAILED')).toMatchObject({
      message: 'Le corps de la requête n’est pas du JSON valide.',
    })

    const query = await expectError(await get(h, '/api/wa/messages?limit=abc', linked), 400, 'VALIDATION_FAILED')
    expect(query.message).toBe('Paramètres de requête invalides : le détail est dans « issues ».')
    for (const i of query.issues as Array<{ message: string }>) expect(i.message).not.toMatch(ENGLISH)

    const route = await expectError(await fetch(`${h.app.url}/api/no-such-route`), 404, 'NOT_FOUND')
    expect(route.message).toBe('Cette route de l’API n’existe pas.')
    const routeEn = await expectError(await fetch(`${h.app.url}/api/no-such-route`, { headers: EN }), 404, 'NOT_FOUND')
    expect(routeEn.message).toBe('No such API route.')
  })

  it('the metrics token, the event-stream cap, and the domain’s own issues: French by default, English by Accept-Language', async () => {
    const metrics = await expectError(await fetch(`${h.app.url}/metrics`), 401, 'UNAUTHENTICATED')
    expect(metrics.message).toBe('Jeton des métriques requis.')
    const metricsEn = await expectError(await fetch(`${h.app.url}/metrics`, { headers: EN }), 401, 'UNAUTHENTICATED')
    expect(metricsEn.message).toBe('Metrics token required.')

    // One stream per user (SSE_MAX_PER_USER=1): the second is refused in words.
    const viewer = await newTenant()
    const held = new AbortController()
    const first = await h.api('/api/wa/events', {
      token: viewer.token,
      headers: { accept: 'text/event-stream' },
      signal: held.signal,
    })
    try {
      expect(first.status).toBe(200)
      const fr = await expectError(await get(h, '/api/wa/events', viewer), 429, 'RATE_LIMITED')
      expect(fr.message).toBe('Trop de flux d’événements ouverts : fermez un autre onglet ou réessayez plus tard.')
      const en = await expectError(await get(h, '/api/wa/events', viewer, EN), 429, 'RATE_LIMITED')
      expect(en.message).toBe('Too many open event streams: close another tab or try again later.')
    } finally {
      held.abort()
    }

    // Issues the domain finds itself (a cursor only the use case can read), in the caller's language.
    for (const path of ['/api/wa/timeline?cursor=nope', '/api/wa/messages?cursor=nope']) {
      const fr = await expectError(await get(h, path, linked), 400, 'VALIDATION_FAILED')
      expect(fr.message, path).toBe('Requête invalide.')
      expect(fr.issues, path).toEqual([{ path: 'cursor', message: 'ce n’est pas un curseur donné par cette API' }])
      const en = await expectError(await get(h, path, linked, EN), 400, 'VALIDATION_FAILED')
      expect(en.issues, path).toEqual([{ path: 'cursor', message: 'not a cursor from this API' }])
    }
    // The timeline's query goes through zod's locale like the other routes'.
    const limit = await expectError(await get(h, '/api/wa/timeline?limit=abc', linked), 400, 'VALIDATION_FAILED')
    expect(limit.message).toBe('Paramètres de requête invalides : le détail est dans « issues ».')
    for (const i of limit.issues as Array<{ message: string }>) expect(i.message).not.toMatch(ENGLISH)

    // A CRM webhook URL the policy refuses: the reason code first, then its words.
    const refused = await expectError(
      await post(h, '/api/wa/webhook-endpoints', linked, { url: 'ftp://crm.example.com/hook' }),
      400,
      'WEBHOOK_URL_REFUSED',
    )
    expect(refused.issues).toEqual([
      { path: 'url', message: 'invalid_url: une URL http(s) absolue, sans utilisateur:mot de passe, est exigée' },
    ])
    const refusedEn = await expectError(
      await post(h, '/api/wa/webhook-endpoints', linked, { url: 'ftp://crm.example.com/hook' }, EN),
      400,
      'WEBHOOK_URL_REFUSED',
    )
    expect(refusedEn.issues).toEqual([
      { path: 'url', message: 'invalid_url: an absolute http(s) URL without user:password is required' },
    ])
  })

  it('the express edge (wrong verb, oversized body, cross-site POST) answers in the caller’s language too', async () => {
    const verb = await expectError(await post(h, '/api/wa/qr/status', linked), 405, 'METHOD_NOT_ALLOWED')
    expect(verb.message).toBe('Utilisez GET, HEAD pour cette route.')
    const verbEn = await expectError(await post(h, '/api/wa/qr/status', linked, {}, EN), 405, 'METHOD_NOT_ALLOWED')
    expect(verbEn.message).toBe('Use GET, HEAD for this route.')

    const big = { to: '+33612345678', message: 'x'.repeat(20_000) }
    const large = await expectError(await post(h, '/api/wa/test', linked, big), 413, 'PAYLOAD_TOO_LARGE')
    expect(large.message).toBe('Corps de la requête trop volumineux (plus de 16384 octets).')
    // The lang cookie wins over Accept-Language here as on the pages.
    const cookie = await langCookie.serialize('en')
    const largeEn = await expectError(
      await post(h, '/api/wa/test', linked, big, { cookie, 'accept-language': 'fr' }),
      413,
      'PAYLOAD_TOO_LARGE',
    )
    expect(largeEn.message).toBe('Request body too large (over 16384 bytes).')

    const cross = (headers: Record<string, string>) =>
      fetch(`${h.app.url}/api/wa/disconnect`, { method: 'POST', headers: { origin: 'https://evil.example', ...headers } })
    expect(await expectError(await cross({}), 403, 'CSRF_REJECTED')).toMatchObject({ message: 'Requête intersite refusée.' })
    expect(await expectError(await cross(EN), 403, 'CSRF_REJECTED')).toMatchObject({ message: 'Cross-site request rejected.' })
  })
})
