import {
  json,
  type ActionFunctionArgs,
  type HeadersFunction,
  type LinksFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from '@remix-run/node'
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { useRef, useState } from 'react'
import { z } from 'zod'
import { getServices } from '../services.server'
import { clientIp } from '../utils/auth.server'
import { requirePageContext } from '../utils/guards.server'
import { t, type Lang, type MessageKey } from '../utils/i18n'
import { getLang } from '../utils/lang.server'
import { mintApiToken, revokeApiToken } from '../utils/api-tokens.server'
import { parseTtl } from '../utils/jwt.server'
import authStyles from '../styles/auth.css'

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: String(authStyles) }]

/** Document responses keep the action's/loader's headers (no-store; Retry-After when throttled). */
export const headers: HeadersFunction = ({ actionHeaders, loaderHeaders }) => {
  const out = new Headers({ 'Cache-Control': 'no-store' })
  const retry = actionHeaders.get('Retry-After')
  if (retry) out.set('Retry-After', retry)
  for (const cookie of loaderHeaders.getSetCookie()) out.append('Set-Cookie', cookie)
  return out
}
export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${t(data?.lang ?? 'fr', 'tokens.title')} · WhatsApp Pro` },
]

export const INTENT_MINT = 'mint'
export const INTENT_REVOKE = 'revoke'
const TTL_CHOICES = ['1h', '1d', '7d', '30d', '90d', '365d'] as const

/** The badge of each token status. */
const STATUS_TEXT = { active: 'tokens.active', revoked: 'tokens.revoked', expired: 'tokens.expired' } as const satisfies Record<
  string,
  MessageKey
>

export async function loader({ request, context }: LoaderFunctionArgs) {
  const ctx = await requirePageContext(request, { context })
  const tokens = await getServices().auth.apiTokens.list(ctx.tenantId)
  const now = Date.now()
  return json(
    {
      lang: await getLang(request),
      tenantId: ctx.tenantId,
      canMutate: ctx.canMutate,
      tokens: tokens.map((token) => ({
        jti: token.jti,
        name: token.name,
        createdAt: token.createdAt.toISOString(),
        lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
        expiresAt: token.expiresAt.toISOString(),
        status: token.revokedAt ? 'revoked' : token.expiresAt.getTime() <= now ? 'expired' : 'active',
      })),
    },
    { headers: { 'Cache-Control': 'no-store' } },
  )
}

const MintSchema = z.object({
  intent: z.literal(INTENT_MINT),
  name: z.string().trim().min(1).max(80),
  ttl: z.enum(TTL_CHOICES),
})
const RevokeSchema = z.object({ intent: z.literal(INTENT_REVOKE), jti: z.string().uuid() })

type ActionResult =
  | { kind: 'minted'; name: string; token: string; expiresAt: string }
  | { kind: 'revoked' }
  | { kind: 'error'; message: 'tokens.invalidName' | 'tokens.notFound' }

export async function action({ request, context }: ActionFunctionArgs) {
  // Guard: signed-in, same-origin (CSRF), owner/admin of the tenant.
  const ctx = await requirePageContext(request, { mutating: true, context })
  const auth = getServices().auth
  const ip = clientIp(context)
  const form = Object.fromEntries(await request.formData())
  const noStore = { 'Cache-Control': 'no-store' }
  switch (form.intent) {
    case INTENT_MINT: {
      const parsed = MintSchema.safeParse(form)
      if (!parsed.success)
        return json<ActionResult>({ kind: 'error', message: 'tokens.invalidName' }, { status: 400, headers: noStore })
      const minted = await mintApiToken(auth, {
        tenantId: ctx.tenantId,
        userId: ctx.userId,
        name: parsed.data.name,
        ttlSeconds: parseTtl(parsed.data.ttl)!,
        actor: `user:${ctx.userId}`,
        ip,
      })
      // The token is in this one response only (never stored, never listed again).
      return json<ActionResult>(
        { kind: 'minted', name: parsed.data.name, token: minted.token, expiresAt: minted.expiresAt.toISOString() },
        { headers: noStore },
      )
    }
    case INTENT_REVOKE: {
      const parsed = RevokeSchema.safeParse(form)
      const done = await revokeApiToken(auth, {
        tenantId: ctx.tenantId,
        jti: parsed.success ? parsed.data.jti : null,
        actor: `user:${ctx.userId}`,
        ip,
      })
      if (!done) return json<ActionResult>({ kind: 'error', message: 'tokens.notFound' }, { status: 404, headers: noStore })
      return json<ActionResult>({ kind: 'revoked' }, { headers: noStore })
    }
    default:
      throw new Response('Unknown intent', { status: 400 })
  }
}

function formatDate(iso: string | null, lang: Lang, never: string): string {
  if (!iso) return never
  return (
    new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'fr-FR', {
      dateStyle: 'medium',
      timeStyle: 'short',
      timeZone: 'UTC',
    }).format(new Date(iso)) + ' UTC'
  )
}

function CopyField({ value, label, copy, copied }: { value: string; label: string; copy: string; copied: string }) {
  const input = useRef<HTMLInputElement>(null)
  const [done, setDone] = useState(false)
  return (
    <div className="field">
      <label htmlFor="new-token">{label}</label>
      <div className="token-once">
        <input id="new-token" ref={input} readOnly value={value} onFocus={(e) => e.currentTarget.select()} spellCheck={false} />
        <button
          type="button"
          className="btn btn-secondary"
          onClick={async () => {
            input.current?.select()
            try {
              await navigator.clipboard.writeText(value)
            } catch {
              document.execCommand?.('copy')
            }
            setDone(true)
          }}
        >
          {done ? copied : copy}
        </button>
      </div>
      <span className="muted" aria-live="polite">
        {done ? copied : ''}
      </span>
    </div>
  )
}

export default function ApiTokens() {
  const { lang, tenantId, canMutate, tokens } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const navigation = useNavigation()
  const tr = (key: MessageKey, vars?: Record<string, string | number>) => t(lang, key, vars)
  const busy = navigation.state === 'submitting'
  return (
    // The settings layout (settings.tsx) provides navigation, language switch and sign-out.
    <main lang={lang}>
      <div className="page-header">
        <h1>{tr('tokens.title')}</h1>
      </div>
      <p className="muted">{tr('tokens.lead', { tenant: tenantId })}</p>

      {result?.kind === 'minted' ? (
        <div className="card" role="status">
          <p className="alert alert-success">{tr('tokens.minted', { name: result.name })}</p>
          <CopyField value={result.token} label={tr('tokens.tokenLabel')} copy={tr('tokens.copy')} copied={tr('tokens.copied')} />
        </div>
      ) : null}
      {result?.kind === 'revoked' ? (
        <p className="alert alert-success" role="status">
          {tr('tokens.revokedOk')}
        </p>
      ) : null}
      {result?.kind === 'error' ? (
        <p className="alert alert-error" role="alert">
          {tr(result.message)}
        </p>
      ) : null}

      {canMutate ? (
        <section className="card" aria-labelledby="mint-title">
          <h2 id="mint-title">{tr('tokens.mintTitle')}</h2>
          <Form method="post" className="form-row">
            <input type="hidden" name="intent" value={INTENT_MINT} />
            <div className="field">
              <label htmlFor="token-name">{tr('tokens.name')}</label>
              <input id="token-name" name="name" required maxLength={80} placeholder={tr('tokens.namePlaceholder')} />
            </div>
            <div className="field">
              <label htmlFor="token-ttl">{tr('tokens.expiry')}</label>
              <select id="token-ttl" name="ttl" defaultValue="30d">
                {TTL_CHOICES.map((c) => (
                  <option key={c} value={c}>
                    {tr(`tokens.ttl.${c}` as const)}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {tr('tokens.mint')}
            </button>
          </Form>
        </section>
      ) : (
        <p className="alert alert-success">{tr('tokens.readOnly')}</p>
      )}

      <section className="card" aria-labelledby="list-title">
        <h2 id="list-title">{tr('tokens.listTitle')}</h2>
        {tokens.length === 0 ? (
          <p className="muted">{tr('tokens.none')}</p>
        ) : (
          <table className="token-table">
            <thead>
              <tr>
                <th scope="col">{tr('tokens.col.name')}</th>
                <th scope="col">{tr('tokens.col.created')}</th>
                <th scope="col">{tr('tokens.col.lastUsed')}</th>
                <th scope="col">{tr('tokens.col.expires')}</th>
                <th scope="col">{tr('tokens.col.status')}</th>
                {canMutate ? (
                  <th scope="col">
                    <span className="muted">—</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {tokens.map((tok) => (
                <tr key={tok.jti}>
                  <td data-label={tr('tokens.col.name')}>{tok.name}</td>
                  <td data-label={tr('tokens.col.created')}>{formatDate(tok.createdAt, lang, tr('tokens.never'))}</td>
                  <td data-label={tr('tokens.col.lastUsed')}>{formatDate(tok.lastUsedAt, lang, tr('tokens.never'))}</td>
                  <td data-label={tr('tokens.col.expires')}>{formatDate(tok.expiresAt, lang, tr('tokens.never'))}</td>
                  <td data-label={tr('tokens.col.status')}>
                    <span className="badge">{tr(STATUS_TEXT[tok.status as keyof typeof STATUS_TEXT])}</span>
                  </td>
                  {canMutate ? (
                    <td>
                      {tok.status === 'active' ? (
                        <Form
                          method="post"
                          onSubmit={(e) => {
                            if (!confirm(tr('tokens.revokeConfirm', { name: tok.name }))) e.preventDefault()
                          }}
                        >
                          <input type="hidden" name="intent" value={INTENT_REVOKE} />
                          <input type="hidden" name="jti" value={tok.jti} />
                          <button type="submit" className="btn btn-danger" aria-label={`${tr('tokens.revoke')} ${tok.name}`}>
                            {tr('tokens.revoke')}
                          </button>
                        </Form>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </main>
  )
}
