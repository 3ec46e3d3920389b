import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useActionData, useLoaderData } from '@remix-run/react'
import { WhatsAppPanel } from './panel'
import { t } from '../../utils/i18n'
import { whatsappPageAction, whatsappPageLoader } from './page.server'

// /settings/whatsapp — the WhatsApp Pro panel. Loader: guard → flag → live status → what to
// show. Action: guard (owner/admin, same origin) → `intent` → one named handler → one use case
// (handlers in page.server.ts beside this file, so no domain code reaches the browser; the
// view is the panel beside it too).
export const loader = (args: LoaderFunctionArgs) => whatsappPageLoader(args)
export const action = (args: ActionFunctionArgs) => whatsappPageAction(args)

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${t(data?.lang ?? 'fr', 'wa.title')} · ${t(data?.lang ?? 'fr', 'settings.title')}` },
]

export default function WhatsAppSettings() {
  const data = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  return <WhatsAppPanel {...data} actionData={actionData ?? null} />
}
