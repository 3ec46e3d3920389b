import Ajv from 'ajv'
import { beforeAll, describe, expect, it } from 'vitest'
import { KyselyRateLimiter } from '../../adapters/kysely/kysely-rate-limiter'
import {
  DisconnectResponseSchema,
  ErrorSchema,
  FeaturesResponseSchema,
  PairingCodeResponseSchema,
  QrResponseSchema,
  StatusResponseSchema,
  TestSendResponseSchema,
  WebhookAckSchema,
  WebhookDeliveryListSchema,
  WebhookEndpointCreatedSchema,
  WebhookEndpointListSchema,
} from '../../app/api/schemas'
import { testDb } from '../utils/db'
import { eventually, useWaApp } from '../utils/wa-harness'
import { actionMethodsOf } from '../../server/api-methods'
import { get, newTenant, post, scanTarget, statusOf } from './api-support'
import { messageEvent, startReceiver, testEventSink } from './webhook-support'

// The OpenAPI document against the build and against real responses.
//
// Validators: the document passes @seriousme/openapi-schema-validator (OpenAPI 3.1 meta-schema);
// responses are validated with ajv 6 (draft-07, the ajv at the top of node_modules): (1) the
// document's structure is also checked by hand below,
// (2) every schema in it is meta-validated and compiled with ajv 6 after checking it uses no
// keyword whose meaning differs between draft-07 and 2020-12, and real responses are validated
// with those compiled schemas, (3) 2xx bodies are also parsed with the app's zod schemas.
const h = useWaApp({ instances: 4 })

type Json = Record<string, any>
let doc: Json

const DRAFT_2020_ONLY = [
  'prefixItems',
  '$defs',
  '$dynamicRef',
  '$dynamicAnchor',
  'unevaluatedProperties',
  'unevaluatedItems',
  'dependentSchemas',
  'dependentRequired',
  'contentSchema',
  '$anchor',
]
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

function walk(value: unknown, visit: (node: Json, path: string) => void, path = '#'): void {
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, visit, `${path}/${i}`))
  else if (value && typeof value === 'object') {
    visit(value as Json, path)
    for (const [k, v] of Object.entries(value)) walk(v, visit, `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`)
  }
}

function resolvePointer(root: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Json)[key] : undefined), root)
}

/** Structural OpenAPI 3.1 checks (the parts a 3.1 validator would enforce that matter here). */
function structuralErrors(d: Json): string[] {
  const errors: string[] = []
  if (typeof d.openapi !== 'string' || !/^3\.1\.\d+$/.test(d.openapi)) errors.push('openapi must be 3.1.x')
  if (typeof d.info?.title !== 'string' || typeof d.info?.version !== 'string')
    errors.push('info.title and info.version are required strings')
  if (!d.paths || typeof d.paths !== 'object') errors.push('paths must be an object')
  const operationIds = new Set<string>()
  for (const [path, item] of Object.entries<Json>(d.paths ?? {})) {
    if (!path.startsWith('/')) errors.push(`path ${path} must start with /`)
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
    for (const [method, op] of Object.entries<Json>(item)) {
      if (!HTTP_METHODS.includes(method)) {
        if (!['parameters', 'summary', 'description', 'servers', '$ref'].includes(method))
          errors.push(`${path}: unknown key ${method}`)
        continue
      }
      const where = `${method.toUpperCase()} ${path}`
      if (op.operationId) {
        if (operationIds.has(op.operationId)) errors.push(`${where}: duplicate operationId`)
        operationIds.add(op.operationId)
      }
      const responses = Object.entries<Json>(op.responses ?? {})
      if (responses.length === 0) errors.push(`${where}: no responses`)
      if (!responses.some(([s]) => /^2\d\d$/.test(s))) errors.push(`${where}: no 2xx response`)
      for (const [status, response] of responses) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(status)) errors.push(`${where}: bad status key ${status}`)
        if (typeof response.description !== 'string') errors.push(`${where} ${status}: description is required`)
      }
      const params = (op.parameters ?? []) as Json[]
      for (const p of params) {
        if (!['query', 'header', 'path', 'cookie'].includes(p.in) || typeof p.name !== 'string')
          errors.push(`${where}: bad parameter ${JSON.stringify(p)}`)
        if (p.in === 'path' && p.required !== true) errors.push(`${where}: path parameter ${p.name} must be required`)
      }
      for (const name of templated) {
        if (!params.some((p) => p.in === 'path' && p.name === name))
          errors.push(`${where}: {${name}} is not declared as a path parameter`)
      }
      for (const requirement of (op.security ?? []) as Json[]) {
        for (const scheme of Object.keys(requirement))
          if (!d.components?.securitySchemes?.[scheme]) errors.push(`${where}: unknown security scheme ${scheme}`)
      }
    }
  }
  walk(d, (node, at) => {
    if (typeof node.$ref === 'string' && resolvePointer(d, node.$ref) === undefined)
      errors.push(`${at}: unresolvable $ref ${node.$ref}`)
  })
  return errors
}

/** A standalone draft-07 schema: `#/components/schemas/X` refs rewritten to `#/definitions/X`. */
function standalone(schema: unknown): Json {
  const rewrite = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(rewrite)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v).map(([k, x]) => [
              k,
              k === '$ref' && typeof x === 'string' ? x.replace('#/components/schemas/', '#/definitions/') : rewrite(x),
            ]),
          )
        : v
  return { ...(rewrite(schema) as Json), definitions: rewrite(doc.components?.schemas ?? {}) as Json }
}

const ajv = new Ajv({ allErrors: true, format: 'full', unknownFormats: 'ignore' })
// OpenAPI annotation keywords (no validation meaning).
ajv.addKeyword('example', { valid: true })

interface Captured {
  label: string
  path: string
  method: string
  res: Response
  body: unknown
}
const captured: Captured[] = []

async function capture(label: string, template: string, method: string, res: Response): Promise<Captured> {
  const type = res.headers.get('content-type') ?? ''
  let body: unknown = null
  if (type.startsWith('application/json')) body = await res.json()
  else await res.arrayBuffer()
  const entry = { label, path: template, method, res, body }
  captured.push(entry)
  return entry
}

function validateAgainstDocument(c: Captured): string[] {
  const op = doc.paths?.[c.path]?.[c.method]
  if (!op) return [`${c.label}: ${c.method.toUpperCase()} ${c.path} is not in the document`]
  const response = op.responses?.[String(c.res.status)] ?? op.responses?.[`${String(c.res.status)[0]}XX`] ?? op.responses?.default
  if (!response) return [`${c.label}: status ${c.res.status} is not documented for ${c.method.toUpperCase()} ${c.path}`]
  const type = (c.res.headers.get('content-type') ?? '').split(';')[0]!.trim()
  // A bodiless answer (304) documented without content.
  if (type === '' && c.res.status === 304 && !response.content) return []
  const media = response.content?.[type]
  if (!media) return [`${c.label}: content type ${type} is not documented for ${c.res.status}`]
  if (type !== 'application/json') return []
  const validate = ajv.compile(standalone(media.schema))
  return validate(c.body) ? [] : [`${c.label}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(c.body).slice(0, 300)}`]
}

beforeAll(async () => {
  const res = await h.api('/api/openapi.json')
  expect(res.status).toBe(200)
  doc = (await res.clone().json()) as Json
  await capture('openapi', '/api/openapi.json', 'get', res)
})

describe('the OpenAPI document', () => {
  it('is a structurally valid OpenAPI 3.1 document', () => {
    expect(structuralErrors(doc)).toEqual([])
  })

  it('passes the OpenAPI 3.1 JSON-schema validator (@seriousme/openapi-schema-validator), which rejects a broken copy', async () => {
    const { Validator } = await import('@seriousme/openapi-schema-validator')
    const result = await new Validator().validate(structuredClone(doc))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    const broken = structuredClone(doc)
    broken.paths['/api/wa/qr/status'].get.responses = 'not an object'
    expect((await new Validator().validate(broken)).valid).toBe(false)
  })

  it('catches a broken document (the structural check can fail)', () => {
    const broken = structuredClone(doc)
    broken.openapi = '3.0.3'
    const firstPath = Object.keys(broken.paths)[0]!
    broken.paths[firstPath].get = { responses: {} }
    broken.paths['/api/x/{id}'] = {
      post: {
        responses: {
          200: { description: 'x', content: { 'application/json': { schema: { $ref: '#/components/schemas/Nope' } } } },
        },
      },
    }
    const errors = structuralErrors(broken).join('\n')
    expect(errors).toMatch(/3\.1\.x/)
    expect(errors).toMatch(/no responses/)
    expect(errors).toMatch(/\{id\} is not declared/)
    expect(errors).toMatch(/unresolvable \$ref/)
  })

  it('every schema is a valid JSON Schema using only keywords draft-07 and 2020-12 agree on', () => {
    const schemas: Array<{ at: string; schema: Json }> = []
    walk(doc, (node, at) => {
      if (node.schema && typeof node.schema === 'object') schemas.push({ at: `${at}/schema`, schema: node.schema })
    })
    for (const [name, schema] of Object.entries<Json>(doc.components?.schemas ?? {}))
      schemas.push({ at: `#/components/schemas/${name}`, schema })
    expect(schemas.length).toBeGreaterThan(10)
    for (const { at, schema } of schemas) {
      walk(schema, (node, inner) => {
        for (const k of DRAFT_2020_ONLY) expect(node[k], `${at}${inner.slice(1)} uses ${k}`).toBeUndefined()
        // 2020-12 "items" as an array means something else in draft-07.
        expect(Array.isArray(node.items), `${at}${inner.slice(1)} items array`).toBe(false)
      })
      const full = standalone(schema)
      expect(ajv.validateSchema(full), `${at}: ${ajv.errorsText(ajv.errors)}`).toBe(true)
      expect(() => ajv.compile(full)).not.toThrow()
    }
  })

  it('lists every /api route of the build, with the methods the route really serves, and nothing else', async () => {
    const all = Object.values(h.app.build.routes).filter((r) => r.id.startsWith('routes/api.'))
    // The /api/* catch-all (splat) only answers the 404 envelope: not an operation to document.
    const splats = all.filter((r) => (r.path ?? '').endsWith('*'))
    for (const splat of splats) {
      for (const method of ['GET', 'POST']) {
        const res = await fetch(`${h.app.url}/${splat.path!.replace('*', 'no/such/route')}`, { method })
        expect(res.status).toBe(404)
        expect(await res.json()).toMatchObject({ ok: false, error: 'NOT_FOUND' })
      }
    }
    const routes = all.filter((r) => !splats.includes(r))
    expect(routes.length).toBeGreaterThanOrEqual(9)
    const buildPaths = new Set<string>()
    for (const route of routes) {
      const template = `/${route.path ?? ''}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
      buildPaths.add(template)
      const item = doc.paths[template]
      expect(item, `${route.id} → ${template} missing from the document`).toBeDefined()
      const module = route.module as { loader?: unknown; action?: unknown; actionMethods?: unknown }
      // An action serves POST unless the route declares other verbs (server/api-methods.ts).
      const verbs = module.action ? actionMethodsOf(module).map((m) => m.toLowerCase()) : []
      for (const verb of verbs) expect(item[verb], `${template}: action without ${verb.toUpperCase()} operation`).toBeDefined()
      for (const verb of ['post', 'put', 'patch', 'delete'].filter((v) => !verbs.includes(v)))
        expect(item[verb], `${template}: ${verb.toUpperCase()} documented but not served`).toBeUndefined()
      if (module.loader) {
        // A loader that only answers 405 is not a GET operation.
        const probe = await fetch(`${h.app.url}${template.replace(/\{[^}]+\}/g, '1101000001')}`)
        await probe.arrayBuffer()
        if (probe.status === 405) expect(item.get, `${template}: GET documented but answers 405`).toBeUndefined()
        else expect(item.get, `${template}: GET served but not documented`).toBeDefined()
      } else expect(item.get).toBeUndefined()
    }
    expect(Object.keys(doc.paths).sort()).toEqual([...buildPaths].sort())
  })
})

describe('real responses validate against the document', () => {
  it('a mini journey: every route, 2xx and error envelopes', async () => {
    const owner = await newTenant()
    const member = await newTenant({ role: 'member' })
    const owned = { token: owner.token, tenantId: owner.tenantId }
    const blocked = { token: h.tokens.blockedOwner, tenantId: 'test_tenant_blocked' }
    const rawPost = (path: string, body: string, type: string) =>
      fetch(`${h.app.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner.token}`, 'content-type': type },
        body,
      })

    await capture('features 200', '/api/settings/features', 'get', await get(h, '/api/settings/features', owned))
    await capture('features 401', '/api/settings/features', 'get', await h.api('/api/settings/features'))
    await capture(
      'features 403',
      '/api/settings/features',
      'get',
      await get(h, '/api/settings/features', { token: owner.token, tenantId: 'macrea' }),
    )
    await capture(
      'features 400',
      '/api/settings/features',
      'get',
      await get(h, '/api/settings/features', { token: owner.token, tenantId: 'NOT VALID' }),
    )
    await capture('status 200 (none)', '/api/wa/qr/status', 'get', await get(h, '/api/wa/qr/status', owned))
    await capture('status 403 disabled', '/api/wa/qr/status', 'get', await get(h, '/api/wa/qr/status', blocked))
    await capture('picture 404', '/api/wa/profile-picture', 'get', await get(h, '/api/wa/profile-picture', owned))

    await capture(
      'generate 400',
      '/api/wa/qr/generate',
      'post',
      await rawPost('/api/wa/qr/generate', '{oops', 'application/json'),
    )
    await capture(
      'generate oversized 413',
      '/api/wa/qr/generate',
      'post',
      await rawPost('/api/wa/qr/generate', JSON.stringify({ p: 'x'.repeat(20_000) }), 'application/json'),
    )
    await capture('generate 415', '/api/wa/qr/generate', 'post', await rawPost('/api/wa/qr/generate', '{}', 'text/plain'))
    await capture('generate 403 role', '/api/wa/qr/generate', 'post', await post(h, '/api/wa/qr/generate', member))
    await capture('generate 403 disabled', '/api/wa/qr/generate', 'post', await post(h, '/api/wa/qr/generate', blocked))
    await capture('test 409', '/api/wa/test', 'post', await post(h, '/api/wa/test', owned))
    await capture(
      'pairing 400',
      '/api/wa/pairing-code',
      'post',
      await post(h, '/api/wa/pairing-code', owned, { phoneNumber: '12' }),
    )

    const gen = await capture('generate 200', '/api/wa/qr/generate', 'post', await post(h, '/api/wa/qr/generate', owned))
    const { instanceId, nonce } = await scanTarget((gen.body as { qrCode: string }).qrCode)
    await capture('status 200 (linking)', '/api/wa/qr/status', 'get', await get(h, '/api/wa/qr/status', owned))
    await capture(
      'pairing 200',
      '/api/wa/pairing-code',
      'post',
      await post(h, '/api/wa/pairing-code', owned, { phoneNumber: '+33611223344' }),
    )

    h.sim.fault({ instanceId, methods: ['qr'] }).down(503)
    await capture('generate 503', '/api/wa/qr/generate', 'post', await post(h, '/api/wa/qr/generate', owned))
    h.sim.clearFaults()

    expect(h.sim.scan(instanceId, nonce)).toMatchObject({ ok: true })
    await eventually(async () => expect(await statusOf(h, owned)).toMatchObject({ connected: true }))
    await capture('status 200 (authorized)', '/api/wa/qr/status', 'get', await get(h, '/api/wa/qr/status', owned))
    // The linked account's picture, once the background refresh stored it (decision 240).
    const withPicture = await eventually(async () => {
      const s = await statusOf(h, owned)
      expect(s.pictureUrl).toEqual(expect.any(String))
      return s
    })
    await capture('status 200 (profile)', '/api/wa/qr/status', 'get', await get(h, '/api/wa/qr/status', owned))
    const picture = await capture(
      'picture 200',
      '/api/wa/profile-picture',
      'get',
      await get(h, withPicture.pictureUrl as string, owned),
    )
    expect(picture.res.headers.get('content-type')).toBe('image/png')
    await capture(
      'picture 304',
      '/api/wa/profile-picture',
      'get',
      await get(h, withPicture.pictureUrl as string, owned, { 'if-none-match': picture.res.headers.get('etag') ?? '' }),
    )
    await capture('generate 409', '/api/wa/qr/generate', 'post', await post(h, '/api/wa/qr/generate', owned))
    await capture('test 200', '/api/wa/test', 'post', await post(h, '/api/wa/test', owned, { message: 'OpenAPI check' }))

    // Messages: queued (202), idempotent replay (200), conflict (409), read, list, bad cursor, 404.
    const msgBody = { to: '+33698765432', text: 'OpenAPI message', reference: 'crm-1' }
    const queued = await capture(
      'message 202',
      '/api/wa/messages',
      'post',
      await post(h, '/api/wa/messages', owned, msgBody, { 'Idempotency-Key': 'openapi-1' }),
    )
    await capture(
      'message 200 replay',
      '/api/wa/messages',
      'post',
      await post(h, '/api/wa/messages', owned, msgBody, { 'Idempotency-Key': 'openapi-1' }),
    )
    await capture(
      'message 409 conflict',
      '/api/wa/messages',
      'post',
      await post(h, '/api/wa/messages', owned, { ...msgBody, text: 'other' }, { 'Idempotency-Key': 'openapi-1' }),
    )
    await capture('message 400', '/api/wa/messages', 'post', await post(h, '/api/wa/messages', owned, { to: '1', text: '' }))
    const messageId = (queued.body as { message: { id: string } }).message.id
    await capture('message get 200', '/api/wa/messages/{id}', 'get', await get(h, `/api/wa/messages/${messageId}`, owned))
    await capture('message get 404', '/api/wa/messages/{id}', 'get', await get(h, `/api/wa/messages/${messageId}`, member))
    await capture('messages list 200', '/api/wa/messages', 'get', await get(h, '/api/wa/messages?limit=1', owned))
    await capture('messages list 400', '/api/wa/messages', 'get', await get(h, '/api/wa/messages?cursor=nope!', owned))
    // The status history: a page with its cursor, a bad cursor, WhatsApp Pro off.
    await capture('timeline 200', '/api/wa/timeline', 'get', await get(h, '/api/wa/timeline?limit=1', owned))
    await capture('timeline 400', '/api/wa/timeline', 'get', await get(h, '/api/wa/timeline?cursor=nope!', owned))
    await capture('timeline 403 disabled', '/api/wa/timeline', 'get', await get(h, '/api/wa/timeline', blocked))

    const controller = new AbortController()
    const events = await fetch(`${h.app.url}/api/wa/events`, {
      headers: { authorization: `Bearer ${owner.token}` },
      signal: controller.signal,
    })
    captured.push({ label: 'events 200', path: '/api/wa/events', method: 'get', res: events, body: null })
    controller.abort()
    await capture('events 401', '/api/wa/events', 'get', await h.api('/api/wa/events'))

    const webhook = (auth: string) =>
      fetch(`${h.app.url}/api/wa/webhooks/green-api/${instanceId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body: JSON.stringify({ typeWebhook: 'incomingMessageReceived', timestamp: Math.floor(Date.now() / 1000) }),
      })
    await capture('webhook 401', '/api/wa/webhooks/green-api/{instanceId}', 'post', await webhook('Bearer wrong'))
    await capture(
      'webhook 200',
      '/api/wa/webhooks/green-api/{instanceId}',
      'post',
      await webhook(`Bearer ${h.sim.instance(instanceId)!.webhookToken}`),
    )

    await capture('docs 200', '/api/docs', 'get', await h.api('/api/docs'))
    // Reboot and remove (decisions 210–211): connected → no reboot; simulator mode → no delete.
    await capture('reboot 409', '/api/wa/reboot', 'post', await post(h, '/api/wa/reboot', owned))
    await capture('delete-instance 409', '/api/wa/delete-instance', 'post', await post(h, '/api/wa/delete-instance', owned))
    await capture('disconnect 200', '/api/wa/disconnect', 'post', await post(h, '/api/wa/disconnect', owned))
    await capture(
      'disconnect 200 again',
      '/api/wa/disconnect',
      'post',
      await post(h, '/api/wa/disconnect', owned, {}, { 'accept-language': 'en' }),
    )

    // CRM webhook endpoints: create (201), list, deliveries, rotate, resend, delete, and their errors.
    const receiver = await startReceiver()
    try {
      const hooks = '/api/wa/webhook-endpoints'
      await capture('hooks create 400', hooks, 'post', await post(h, hooks, owned, { url: 'ftp://x.example/hook' }))
      await capture('hooks create 403 role', hooks, 'post', await post(h, hooks, member, { url: receiver.url() }))
      const created = await capture('hooks create 201', hooks, 'post', await post(h, hooks, owned, { url: receiver.url() }))
      const endpointId = (created.body as { endpoint: { id: string } }).endpoint.id
      await capture('hooks list 200', hooks, 'get', await get(h, hooks, owned))
      await capture('hooks list 403 role', hooks, 'get', await get(h, hooks, member))
      // One event delivered to the receiver: a delivery to list and resend.
      await testEventSink().emit(owner.tenantId, messageEvent('OpenAPI check'))
      await eventually(async () => expect(receiver.received.length).toBeGreaterThan(0), 15_000)
      const deliveries = await capture(
        'hooks deliveries 200',
        `${hooks}/{id}/deliveries`,
        'get',
        await get(h, `${hooks}/${endpointId}/deliveries`, owned),
      )
      const deliveryId = (deliveries.body as { deliveries: Array<{ id: string }> }).deliveries[0]!.id
      await capture(
        'hooks deliveries 404',
        `${hooks}/{id}/deliveries`,
        'get',
        await get(h, `${hooks}/${crypto.randomUUID()}/deliveries`, owned),
      )
      await capture(
        'hooks rotate 200',
        `${hooks}/{id}/rotate-secret`,
        'post',
        await post(h, `${hooks}/${endpointId}/rotate-secret`, owned),
      )
      await capture(
        'hooks rotate 404',
        `${hooks}/{id}/rotate-secret`,
        'post',
        await post(h, `${hooks}/${crypto.randomUUID()}/rotate-secret`, owned),
      )
      await capture(
        'hooks resend 202',
        `${hooks}/deliveries/{deliveryId}/resend`,
        'post',
        await post(h, `${hooks}/deliveries/${deliveryId}/resend`, owned),
      )
      await capture(
        'hooks resend 404',
        `${hooks}/deliveries/{deliveryId}/resend`,
        'post',
        await post(h, `${hooks}/deliveries/${crypto.randomUUID()}/resend`, owned),
      )
      const del = (id: string) => h.api(`${hooks}/${id}`, { method: 'DELETE', token: owner.token })
      await capture('hooks delete 200', `${hooks}/{id}`, 'delete', await del(endpointId))
      await capture('hooks delete 404', `${hooks}/{id}`, 'delete', await del(endpointId))
    } finally {
      await receiver.close()
    }

    // 429: the tenant's generate budget spent by "another process" (same DB key as the API's).
    const limiter = new KyselyRateLimiter(testDb())
    for (let i = 0; i < 11; i++) await limiter.hit(`wa:qr:${owner.tenantId}`, 10, 60)
    await capture('generate 429', '/api/wa/qr/generate', 'post', await post(h, '/api/wa/qr/generate', owned))

    // Every route of the document was exercised, and every capture validates.
    const exercised = new Set(captured.map((c) => `${c.method} ${c.path}`))
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      for (const method of Object.keys(item).filter((m) => HTTP_METHODS.includes(m)))
        expect(exercised, `${method} ${path} not exercised`).toContain(`${method} ${path}`)
    }
    const statuses = new Set(captured.map((c) => c.res.status))
    for (const s of [200, 400, 401, 403, 409, 415, 429, 503]) expect(statuses, `no ${s} captured`).toContain(s)
    expect(captured.flatMap(validateAgainstDocument)).toEqual([])
  })

  it('the same bodies also parse with the zod schemas the document is generated from', () => {
    const byLabel = (prefix: string) =>
      captured.filter((c) => c.label.startsWith(prefix) && c.res.status === 200).map((c) => c.body)
    for (const b of byLabel('features')) FeaturesResponseSchema.parse(b)
    for (const b of byLabel('status')) StatusResponseSchema.parse(b)
    for (const b of byLabel('generate')) QrResponseSchema.parse(b)
    for (const b of byLabel('pairing')) PairingCodeResponseSchema.parse(b)
    for (const b of byLabel('test')) TestSendResponseSchema.parse(b)
    for (const b of byLabel('disconnect')) DisconnectResponseSchema.parse(b)
    for (const b of byLabel('webhook')) WebhookAckSchema.parse(b)
    for (const b of byLabel('hooks list')) WebhookEndpointListSchema.parse(b)
    for (const b of byLabel('hooks rotate')) WebhookEndpointCreatedSchema.parse(b)
    for (const b of byLabel('hooks deliveries')) WebhookDeliveryListSchema.parse(b)
    for (const c of captured.filter((c) => c.label === 'hooks create 201')) WebhookEndpointCreatedSchema.parse(c.body)
    const errors = captured.filter((c) => c.res.status >= 400)
    expect(errors.length).toBeGreaterThan(10)
    for (const c of errors) ErrorSchema.parse(c.body)
  })

  it('the document rejects a body that breaks the contract (the response check can fail)', () => {
    const status = captured.find((c) => c.label === 'status 200 (authorized)')!
    const broken = { ...status, label: 'broken', body: { ...(status.body as Json), status: 'linked', connected: 'yes' } }
    expect(validateAgainstDocument(broken).join()).toMatch(/status|connected/)
    expect(
      validateAgainstDocument({ ...status, label: 'undocumented', res: new Response(null, { status: 418 }) }).join(),
    ).toMatch(/not documented/)
  })
})
