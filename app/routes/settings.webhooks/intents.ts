/** The page's forms (a hidden `intent` field each): shared by the view and the action. */
export const WEBHOOK_INTENTS = {
  create: 'create',
  remove: 'delete',
  rotate: 'rotate',
  resend: 'resend',
} as const
export type WebhookIntent = (typeof WEBHOOK_INTENTS)[keyof typeof WEBHOOK_INTENTS]

export const isWebhookIntent = (v: unknown): v is WebhookIntent =>
  typeof v === 'string' && (Object.values(WEBHOOK_INTENTS) as string[]).includes(v)

/** What the action answers the view (JSON-safe). */
export type WebhookActionResult =
  | { ok: true; intent: 'create' | 'rotate'; endpointId: string; url: string; secret: string }
  | { ok: true; intent: 'delete' | 'resend' }
  | { ok: false; intent: WebhookIntent; code: string; message: string; issues?: Array<{ path: string; message: string }> }
