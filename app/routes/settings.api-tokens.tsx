import { json, type ActionFunctionArgs, type HeadersFunction, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { useRef, useState } from 'react'
import { z } from 'zod'
import { getServices } from '~/services.server'
import { audit, clientIp } from '~/utils/auth.server'
import { requirePageContext } from '~/utils/guards.server'
import { getLang, type Lang } from '~/utils/i18n'
import { mintApiToken } from '~/utils/api-tokens.server'
import { parseTtl } from '~/utils/jwt.server'
import authStyles from '~/styles/auth.css'

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: String(authStyles) }]

/** Document responses keep the action's/loader's headers (no-store; Retry-After when throttled). */
export const headers: HeadersFunction = ({ actionHeaders, loaderHeaders }) => {
  const out = new Headers({ 'Cache-Control': 'no-store' })
  const retry = actionHeaders.get('Retry-After')
  if (retry) out.set('Retry-After', retry)
  for (const cookie of loaderHeaders.getSetCookie()) out.append('Set-Cookie', cookie)
  return out
}
export const meta: MetaFunction = () => [{ title: 'Jetons API · WhatsApp Pro' }]

export const INTENT_MINT = 'mint'
export const INTENT_REVOKE = 'revoke'
const TTL_CHOICES = ['1h', '1d', '7d', '30d', '90d', '365d'] as const

const TEXT = {
  fr: {
    title: 'Jetons API',
    lead: (tenant: string) => `Jetons pour appeler l'API de WhatsApp Pro au nom du compte « ${tenant} ».`,
    mintTitle: 'Créer un jeton',
    name: 'Nom du jeton',
    namePlaceholder: 'ex. intégration CRM',
    expiry: 'Expiration',
    ttl: { '1h': '1 heure', '1d': '1 jour', '7d': '7 jours', '30d': '30 jours', '90d': '90 jours', '365d': '1 an' },
    mint: 'Créer le jeton',
    minted: (name: string) => `Jeton « ${name} » créé. Copiez-le maintenant : il ne sera plus affiché.`,
    tokenLabel: 'Nouveau jeton',
    copy: 'Copier',
    copied: 'Copié',
    listTitle: 'Jetons du compte',
    none: 'Aucun jeton pour le moment.',
    cols: { name: 'Nom', created: 'Créé le', lastUsed: 'Dernière utilisation', expires: 'Expire le', status: 'État' },
    never: 'Jamais',
    active: 'Actif',
    revoked: 'Révoqué',
    expired: 'Expiré',
    revoke: 'Révoquer',
    revokeConfirm: (name: string) => `Révoquer le jeton « ${name} » ? Les appels qui l'utilisent seront refusés.`,
    revokedOk: 'Jeton révoqué.',
    readOnly: 'Seuls les propriétaires et administrateurs peuvent créer ou révoquer des jetons.',
    invalidName: 'Donnez un nom de 1 à 80 caractères.',
    notFound: 'Jeton introuvable ou déjà révoqué.',
  },
  en: {
    title: 'API tokens',
    lead: (tenant: string) => `Tokens to call the WhatsApp Pro API on behalf of the “${tenant}” account.`,
    mintTitle: 'Create a token',
    name: 'Token name',
    namePlaceholder: 'e.g. CRM integration',
    expiry: 'Expiry',
    ttl: { '1h': '1 hour', '1d': '1 day', '7d': '7 days', '30d': '30 days', '90d': '90 days', '365d': '1 year' },
    mint: 'Create token',
    minted: (name: string) => `Token “${name}” created. Copy it now: it will not be shown again.`,
    tokenLabel: 'New token',
    copy: 'Copy',
    copied: 'Copied',
    listTitle: 'Tokens of this account',
    none: 'No tokens yet.',
    cols: { name: 'Name', created: 'Created', lastUsed: 'Last used', expires: 'Expires', status: 'Status' },
    never: 'Never',
    active: 'Active',
    revoked: 'Revoked',
    expired: 'Expired',
    revoke: 'Revoke',
    revokeConfirm: (name: string) => `Revoke the token “${name}”? Calls using it will be refused.`,
    revokedOk: 'Token revoked.',
    readOnly: 'Only owners and admins can create or revoke tokens.',
    invalidName: 'Give a name of 1 to 80 characters.',
    notFound: 'Token not found or already revoked.',
  },
} as const satisfies Record<Lang, unknown>

export async function loader({ request }: LoaderFunctionArgs) {
  const ctx = await requirePageContext(request)
  const tokens = await getServices().auth.apiTokens.list(ctx.tenantId)
  const now = Date.now()
  return json(
    {
      lang: getLang(request),
      tenantId: ctx.tenantId,
      canMutate: ctx.canMutate,
      tokens: tokens.map((t) => ({
        jti: t.jti,
        name: t.name,
        createdAt: t.createdAt.toISOString(),
        lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
        expiresAt: t.expiresAt.toISOString(),
        status: t.revokedAt ? 'revoked' : t.expiresAt.getTime() <= now ? 'expired' : 'active',
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
  | { kind: 'error'; message: 'invalidName' | 'notFound' }

export async function action({ request, context }: ActionFunctionArgs) {
  // Guard: signed-in, same-origin (CSRF), owner/admin of the tenant.
  const ctx = await requirePageContext(request, { mutating: true })
  const auth = getServices().auth
  const ip = clientIp(context)
  const form = Object.fromEntries(await request.formData())
  const noStore = { 'Cache-Control': 'no-store' }
  switch (form.intent) {
    case INTENT_MINT: {
      const parsed = MintSchema.safeParse(form)
      if (!parsed.success) return json<ActionResult>({ kind: 'error', message: 'invalidName' }, { status: 400, headers: noStore })
      const minted = await mintApiToken(auth, {
        tenantId: ctx.tenantId,
        userId: ctx.userId,
        name: parsed.data.name,
        ttlSeconds: parseTtl(parsed.data.ttl)!,
        actor: `user:${ctx.userId}`,
        ip,
      })
      // The token is in this one response only (never stored, never listed again).
      return json<ActionResult>({ kind: 'minted', name: parsed.data.name, token: minted.token, expiresAt: minted.expiresAt.toISOString() }, { headers: noStore })
    }
    case INTENT_REVOKE: {
      const parsed = RevokeSchema.safeParse(form)
      const done = parsed.success ? await auth.apiTokens.revoke(ctx.tenantId, parsed.data.jti) : false
      await audit(auth, {
        actor: `user:${ctx.userId}`,
        tenantId: ctx.tenantId,
        action: 'auth.token.revoke',
        outcome: done ? 'success' : 'failure',
        ip,
        details: parsed.success ? { jti: parsed.data.jti } : { reason: 'invalid_jti' },
      })
      if (!done) return json<ActionResult>({ kind: 'error', message: 'notFound' }, { status: 404, headers: noStore })
      return json<ActionResult>({ kind: 'revoked' }, { headers: noStore })
    }
    default:
      throw new Response('Unknown intent', { status: 400 })
  }
}

function formatDate(iso: string | null, lang: Lang, never: string): string {
  if (!iso) return never
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'fr-FR', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(iso)) + ' UTC'
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
  const t = TEXT[lang]
  const busy = navigation.state === 'submitting'
  return (
    // The settings layout (settings.tsx) provides navigation, language switch and sign-out.
    <div lang={lang}>
      <div className="page-header">
        <h1>{t.title}</h1>
      </div>
      <p className="muted">{t.lead(tenantId)}</p>

      {result?.kind === 'minted' ? (
        <div className="card" role="status">
          <p className="alert alert-success">{t.minted(result.name)}</p>
          <CopyField value={result.token} label={t.tokenLabel} copy={t.copy} copied={t.copied} />
        </div>
      ) : null}
      {result?.kind === 'revoked' ? (
        <p className="alert alert-success" role="status">
          {t.revokedOk}
        </p>
      ) : null}
      {result?.kind === 'error' ? (
        <p className="alert alert-error" role="alert">
          {t[result.message]}
        </p>
      ) : null}

      {canMutate ? (
        <section className="card" aria-labelledby="mint-title">
          <h2 id="mint-title">{t.mintTitle}</h2>
          <Form method="post" className="form-row">
            <input type="hidden" name="intent" value={INTENT_MINT} />
            <div className="field">
              <label htmlFor="token-name">{t.name}</label>
              <input id="token-name" name="name" required maxLength={80} placeholder={t.namePlaceholder} />
            </div>
            <div className="field">
              <label htmlFor="token-ttl">{t.expiry}</label>
              <select id="token-ttl" name="ttl" defaultValue="30d">
                {TTL_CHOICES.map((c) => (
                  <option key={c} value={c}>
                    {t.ttl[c]}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {t.mint}
            </button>
          </Form>
        </section>
      ) : (
        <p className="alert alert-success">{t.readOnly}</p>
      )}

      <section className="card" aria-labelledby="list-title">
        <h2 id="list-title">{t.listTitle}</h2>
        {tokens.length === 0 ? (
          <p className="muted">{t.none}</p>
        ) : (
          <table className="token-table">
            <thead>
              <tr>
                <th scope="col">{t.cols.name}</th>
                <th scope="col">{t.cols.created}</th>
                <th scope="col">{t.cols.lastUsed}</th>
                <th scope="col">{t.cols.expires}</th>
                <th scope="col">{t.cols.status}</th>
                {canMutate ? <th scope="col"><span className="muted">—</span></th> : null}
              </tr>
            </thead>
            <tbody>
              {tokens.map((tok) => (
                <tr key={tok.jti}>
                  <td data-label={t.cols.name}>{tok.name}</td>
                  <td data-label={t.cols.created}>{formatDate(tok.createdAt, lang, t.never)}</td>
                  <td data-label={t.cols.lastUsed}>{formatDate(tok.lastUsedAt, lang, t.never)}</td>
                  <td data-label={t.cols.expires}>{formatDate(tok.expiresAt, lang, t.never)}</td>
                  <td data-label={t.cols.status}>
                    <span className="badge">{t[tok.status as 'active' | 'revoked' | 'expired']}</span>
                  </td>
                  {canMutate ? (
                    <td>
                      {tok.status === 'active' ? (
                        <Form
                          method="post"
                          onSubmit={(e) => {
                            if (!confirm(t.revokeConfirm(tok.name))) e.preventDefault()
                          }}
                        >
                          <input type="hidden" name="intent" value={INTENT_REVOKE} />
                          <input type="hidden" name="jti" value={tok.jti} />
                          <button type="submit" className="btn btn-danger" aria-label={`${t.revoke} ${tok.name}`}>
                            {t.revoke}
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
    </div>
  )
}
