import { requireWhatsAppEnabled, type Actor } from '../../domain/whatsapp'
import { getServices } from '~/services.server'

/** Feature gate as a stacked guard: throws the domain's WhatsAppDisabledError (→ 403 envelope). */
export async function requireWhatsApp(tenantId: string): Promise<void> {
  await requireWhatsAppEnabled(getServices().wa, { tenantId })
}

/** The origin webhooks and simulated-phone URLs are built from: PUBLIC_URL, else the request's. */
export function publicUrlOf(request: Request): string {
  const configured = getServices().env.PUBLIC_URL
  return (configured ?? new URL(request.url).origin).replace(/\/$/, '')
}

export function userActor(userId: string): Actor {
  return { kind: 'user', userId }
}
