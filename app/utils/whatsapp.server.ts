import { requireWhatsAppEnabled, type Actor } from '../../domain/whatsapp'
import { getServices } from '../services.server'

/** Feature gate as a stacked guard: throws the domain's WhatsAppDisabledError (→ 403 envelope). */
export async function requireWhatsApp(tenantId: string): Promise<void> {
  await requireWhatsAppEnabled(getServices().whatsapp, { tenantId })
}

/**
 * The origin webhooks (token included) and simulated-phone URLs are built from: PUBLIC_URL
 * (required in production), else the address this server was reached at on its own socket
 * (`context.localOrigin`, server/http-app.ts), never the request's Host header, which the
 * client chooses (decision 091).
 */
export function publicUrlOf(context: unknown): string {
  const configured = getServices().env.PUBLIC_URL
  const local = (context as { localOrigin?: unknown } | undefined)?.localOrigin
  return (configured ?? (typeof local === 'string' ? local : 'http://localhost:3000')).replace(/\/$/, '')
}

export function userActor(userId: string): Actor {
  return { kind: 'user', userId }
}
