import type { MetaFunction } from '@remix-run/node'

export const meta: MetaFunction = () => [{ title: 'WhatsApp Pro' }]

export default function Index() {
  return (
    <main className="page">
      <h1>WhatsApp Pro</h1>
      <p>
        <a href="/settings/whatsapp">Paramètres WhatsApp</a>
      </p>
    </main>
  )
}
