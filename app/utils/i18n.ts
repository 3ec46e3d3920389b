/**
 * All user-facing texts, one typed dictionary per language. French is the default; English by
 * the `lang` cookie (language switch) or Accept-Language. Components never hard-code strings.
 */
export const LANGS = ['fr', 'en'] as const
export type Lang = (typeof LANGS)[number]

const fr = {
  'api.disconnected': 'WhatsApp déconnecté avec succès',
  'api.whatsappDisabled': "WhatsApp n'est pas activé pour votre compte. Passez à WhatsApp Pro (+15€/mois) pour l'activer.",
  'api.notConnected': "WhatsApp n'est pas connecté : liez d'abord votre numéro.",
  'api.alreadyConnected': 'WhatsApp est déjà connecté pour ce compte.',
  'api.instanceBusy': "L'instance WhatsApp partagée est utilisée par un autre compte. Réessayez après sa déconnexion.",
  'api.noInstance': "Aucune instance WhatsApp n'est disponible pour le moment. Contactez le support.",
  'api.rateLimited': 'Trop de demandes. Réessayez dans {seconds} s.',
  'api.upstream': 'Le service WhatsApp ne répond pas pour le moment. Réessayez dans {seconds} s.',
  'api.upstreamAuth': "Le service WhatsApp a refusé les identifiants de l'instance. Contactez le support.",
  'api.validation': 'Requête invalide.',
  'api.internal': 'Erreur interne. Réessayez plus tard.',
  'api.linkExpired': 'La tentative de connexion a expiré. Recommencez.',
  'api.webhookUnauthorized': 'Webhook non autorisé.',
} as const

export type MessageKey = keyof typeof fr
type Dictionary = Record<MessageKey, string>

const en: Dictionary = {
  'api.disconnected': 'WhatsApp disconnected successfully',
  'api.whatsappDisabled': 'WhatsApp is not enabled for your account. Upgrade to WhatsApp Pro (+15€/month) to enable it.',
  'api.notConnected': 'WhatsApp is not connected: link your number first.',
  'api.alreadyConnected': 'WhatsApp is already connected for this account.',
  'api.instanceBusy': 'The shared WhatsApp instance is in use by another account. Try again once it is disconnected.',
  'api.noInstance': 'No WhatsApp instance is available right now. Contact support.',
  'api.rateLimited': 'Too many requests. Try again in {seconds} s.',
  'api.upstream': 'The WhatsApp service is not answering right now. Try again in {seconds} s.',
  'api.upstreamAuth': "The WhatsApp service rejected the instance's credentials. Contact support.",
  'api.validation': 'Invalid request.',
  'api.internal': 'Internal error. Try again later.',
  'api.linkExpired': 'The link attempt expired. Start again.',
  'api.webhookUnauthorized': 'Webhook not authorized.',
}

const dictionaries: Record<Lang, Dictionary> = { fr, en }

export function t(lang: Lang, key: MessageKey, vars: Record<string, string | number> = {}): string {
  return dictionaries[lang][key].replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? ''))
}

/** `lang` cookie first (explicit choice), then the best of Accept-Language, else French. */
export function getLang(request: Request): Lang {
  const cookie = request.headers.get('cookie') ?? ''
  const chosen = /(?:^|;\s*)lang=(fr|en)(?:;|$)/.exec(cookie)?.[1]
  if (chosen === 'fr' || chosen === 'en') return chosen
  const header = request.headers.get('accept-language') ?? ''
  const ranked = header
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().split(';')
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
      return { lang: tag.toLowerCase().slice(0, 2), q: q ? Number(q.slice(2)) || 0 : 1 }
    })
    .filter((x) => x.lang === 'fr' || x.lang === 'en')
    .sort((a, b) => b.q - a.q)
  return (ranked[0]?.lang as Lang | undefined) ?? 'fr'
}
