// A client written against the types openapi-typescript generates from GET /api/openapi.json.
// Not part of the repository's own type check (tsconfig.json excludes it: `#generated-api`
// exists only in .ci/api-contract's temp dir), and never run: .ci/api-contract type-checks it,
// so a contract a generator cannot type (a missing operationId, an untyped body, a status
// enum drifting from the domain's) fails CI. The @ts-expect-error lines fail too if the
// generated types turn loose (`any`), since an unused @ts-expect-error is an error.
import type { operations, paths } from '#generated-api'
import createClient from 'openapi-fetch'
import type { ConnectionState } from '../../domain/whatsapp'

export async function linkWithQrCode(baseUrl: string, token: string, tenantId: string) {
  const api = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${token}` } })

  const status = await api.GET('/api/wa/qr/status', { params: { header: { 'x-tenant': tenantId } } })
  if (status.data) {
    // The document's status enum is the domain's connection states, both ways.
    const state: ConnectionState = status.data.status
    const back: typeof status.data.status = state
    const connected: boolean = status.data.connected
    if (connected) return { state: back }
  }

  const qr = await api.POST('/api/wa/qr/generate', { params: { header: { 'x-tenant': tenantId } }, body: {} })
  if (qr.error) {
    const envelope: { ok: false; message: string } = qr.error
    // 429 and 503 say when to come back.
    const retryAfter: number | undefined = Number(qr.response.headers.get('Retry-After')) || undefined
    return { error: envelope.message, retryAfter }
  }
  const image: string = qr.data.qrCode
  // @ts-expect-error the QR code is a data: URL string, not a number
  qr.data.qrCode.toFixed()
  return { image, expiresAt: new Date(qr.data.expiresAt) }
}

export function misuses(api: ReturnType<typeof createClient<paths>>) {
  // @ts-expect-error no such route
  void api.GET('/api/wa/qr/state')
  // @ts-expect-error generate is a POST
  void api.GET('/api/wa/qr/generate')
  // @ts-expect-error the pairing body is { phoneNumber }
  void api.POST('/api/wa/pairing-code', { body: { phone: '+33612345678' } })
}

// Operations are named (operationId), and the documented Retry-After header is typed.
type RetryAfter = NonNullable<operations['generateQrCode']['responses'][429]['headers']['Retry-After']>
export const retryAfterIsANumber: RetryAfter = 30
type StatusOk = operations['getConnectionStatus']['responses'][200]['content']['application/json']
export const statusFields: Array<keyof StatusOk> = ['connected', 'status']

// The status history pages with its cursor; reasons and sources are closed lists (issue 16).
export async function statusHistory(baseUrl: string, token: string, tenantId: string, cursor?: string) {
  const api = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${token}` } })
  const page = await api.GET('/api/wa/timeline', {
    params: { header: { 'x-tenant': tenantId }, query: { limit: 20, ...(cursor ? { cursor } : {}) } },
  })
  if (!page.data) return null
  const first = page.data.events[0]
  // @ts-expect-error a reason is one of the documented codes
  if (first?.reason === 'exploded') return null
  const next: string | null = page.data.nextCursor
  return { reasons: page.data.events.map((e) => e.reason), next }
}

type StatusAdvice = NonNullable<StatusOk['advice']>
export const adviceOfYellowCard: StatusAdvice = 'pause_sending'
