import { redirect, type ActionFunctionArgs } from '@remix-run/node'
import { getServices } from '../services.server'
import { appOrigin, isSameOriginRequest } from '../utils/csrf.server'
import { isLang } from '../utils/i18n'
import { langCookie } from '../utils/lang.server'
import { safeRedirect } from '../utils/safe-redirect'

export const loader = () => redirect('/')

// POST /set-lang (lang=fr|en, redirectTo): the language switch, in the cookie the pages read
// before Accept-Language (app/utils/lang.server.ts).
export async function action({ request }: ActionFunctionArgs) {
  if (!isSameOriginRequest(request, appOrigin(request, getServices().env.PUBLIC_URL))) {
    throw new Response('Forbidden', { status: 403 })
  }
  const form = await request.formData()
  const lang = form.get('lang')
  const to = safeRedirect(form.get('redirectTo'), '/settings/whatsapp')
  if (!isLang(lang)) return redirect(to, { status: 303 })
  const secure = new URL(request.url).protocol === 'https:'
  return redirect(to, {
    status: 303,
    headers: { 'Set-Cookie': await langCookie.serialize(lang, { secure }), 'Cache-Control': 'no-store' },
  })
}
