import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newContext, signIn } from './settings-support'
import { launchBrowser, startServer, type RunningServer } from './support'

// Every text a page shows sits inside a landmark (main, banner, navigation, complementary,
// contentinfo, a named region or form), so a screen-reader user who jumps between landmarks
// misses nothing: axe's "region" rule, checked here on Chromium's own accessibility tree (the
// roles Chromium computes, e.g. a <header> is a banner only outside <main>). Issue 16.
let server: RunningServer
let browser: Browser
beforeAll(async () => {
  ;[server, browser] = await Promise.all([startServer(), launchBrowser()])
})
afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

const LANDMARKS = new Set(['main', 'banner', 'navigation', 'complementary', 'contentinfo', 'region', 'search', 'form'])
// Skip links sit before the landmarks on purpose (axe exempts them too); off screen until focused.
const SKIP_LINK = /^(Aller au contenu|Skip to content)$/

interface AXNode {
  nodeId: string
  parentId?: string
  ignored: boolean
  role?: { value?: string }
  name?: { value?: unknown }
}

/** The page's texts (Chromium's StaticText nodes) and, of them, those outside every landmark. */
async function landmarkAudit(page: Page): Promise<{ texts: string[]; outside: string[]; regions: string[] }> {
  const cdp = await page.context().newCDPSession(page)
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as unknown as { nodes: AXNode[] }
    const byId = new Map(nodes.map((n) => [n.nodeId, n]))
    const texts: string[] = []
    const outside: string[] = []
    for (const node of nodes) {
      if (node.ignored || node.role?.value !== 'StaticText') continue
      const text = String(node.name?.value ?? '').trim()
      if (text === '') continue
      texts.push(text)
      let inside = false
      for (let p = node.parentId ? byId.get(node.parentId) : undefined; p; p = p.parentId ? byId.get(p.parentId) : undefined) {
        const role = p.role?.value ?? ''
        if (LANDMARKS.has(role) || (role === 'link' && SKIP_LINK.test(String(p.name?.value ?? '')))) {
          inside = true
          break
        }
      }
      if (!inside) outside.push(text)
    }
    const regions = nodes
      .filter((n) => !n.ignored && LANDMARKS.has(n.role?.value ?? ''))
      .map((n) => `${n.role?.value}:${String(n.name?.value ?? '')}`)
    return { texts, outside, regions }
  } finally {
    await cdp.detach()
  }
}

async function expectAllInLandmarks(page: Page, label: string): Promise<string[]> {
  const { texts, outside, regions } = await landmarkAudit(page)
  expect(texts.length, `${label}: the page shows text`).toBeGreaterThan(2)
  expect(outside, `${label}: texts outside any landmark`).toEqual([])
  return regions
}

describe('every page inside landmarks', () => {
  it.each([
    ['fr-FR', 'Aller au contenu'],
    ['en-GB', 'Skip to content'],
  ])('%s: public pages, the error page, and each settings page with its banner and "signed in as" line', async (locale) => {
    const en = locale.startsWith('en')
    const context = await newContext(browser, { locale })
    const page = await context.newPage()

    for (const path of ['/', '/login', '/no-such-page']) {
      await page.goto(`${server.url}${path}`)
      await expectAllInLandmarks(page, `${locale} ${path}`)
    }

    await signIn(page, server.url, 'admin@macrea.test', en)
    // The URL changes as the client-side navigation commits; the audit waits for the settings
    // page itself (it once read the login page's tree in a full run).
    await page.getByRole('region', { name: en ? 'Your session' : 'Votre session' }).waitFor()
    const regions = await expectAllInLandmarks(page, `${locale} /settings/whatsapp`)
    // The simulator banner and the "signed in as" line are landmarks of their own.
    expect(regions).toContain(en ? 'complementary:Simulator' : 'complementary:Simulateur')
    expect(regions).toContain(en ? 'region:Your session' : 'region:Votre session')

    await page.getByRole('button', { name: en ? 'Connect my WhatsApp' : 'Connecter mon WhatsApp' }).click()
    await page.getByRole('img', { name: /QR code/ }).waitFor()
    await expectAllInLandmarks(page, `${locale} /settings/whatsapp (waiting)`)
    await page.getByRole('button', { name: en ? 'Cancel' : 'Annuler' }).click()
    await page.getByRole('button', { name: en ? 'Connect my WhatsApp' : 'Connecter mon WhatsApp' }).waitFor()

    for (const path of ['/settings/api-tokens', '/settings/webhooks', '/dev/simulator', '/logout', '/settings/no-such-page']) {
      await page.goto(`${server.url}${path}`)
      const found = await expectAllInLandmarks(page, `${locale} ${path}`)
      expect(
        found.some((r) => r.startsWith('main:')),
        `${locale} ${path} has a <main>`,
      ).toBe(true)
    }
    await context.close()

    const blocked = await newContext(browser, { locale })
    const upsell = await blocked.newPage()
    await signIn(upsell, server.url, 'admin@blocked.test', en)
    await upsell.getByRole('button', { name: en ? 'Enable WhatsApp Pro' : 'Activer WhatsApp Pro' }).waitFor()
    await expectAllInLandmarks(upsell, `${locale} /settings/whatsapp (disabled)`)
    await blocked.close()
  })
})
