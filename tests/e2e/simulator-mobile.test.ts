import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MOBILE, cspViolations, newContext, shoot, signIn, statusLine } from './settings-support'
import { launchBrowser, startServer, type RunningServer } from './support'

// At 375 px (a phone): `/dev/simulator` and the simulated phone it links to scroll only
// vertically, and their buttons' text reaches WCAG AA contrast (4.5:1), computed from the
// styles Chromium applies (decisions 216, 218). The newcomer's path: the settings page's
// "Ouvrir le téléphone simulé" link, scanned without a phone.
let server: RunningServer
let browser: Browser
beforeAll(async () => {
  ;[server, browser] = await Promise.all([startServer(), launchBrowser()])
}, 120_000)
afterAll(async () => {
  await browser?.close()
  await server?.stop()
})
afterEach(() => expect(cspViolations).toEqual([]))

/** Horizontal overflow of the document (0 = none). */
const horizontalOverflow = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)

/** The outermost elements sticking out on the right (the failure message names them). */
const overflowing = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
      .filter(
        (e) => !(e.parentElement && e.parentElement.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5),
      )
      .map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} (${Math.round(e.getBoundingClientRect().right)} px)`),
  )

/**
 * Contrast ratio of each visible button's text on its background, from computed styles (WCAG
 * relative luminance). A transparent background takes the nearest opaque ancestor's.
 */
const buttonContrasts = (page: Page) =>
  page.evaluate(() => {
    const rgb = (c: string): [number, number, number, number] => {
      const m = c.match(/[\d.]+/g)!.map(Number)
      return [m[0]!, m[1]!, m[2]!, m[3] ?? 1]
    }
    const lum = ([r, g, b]: number[]) => {
      const ch = (v: number) => {
        const s = v / 255
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
      }
      return 0.2126 * ch(r!) + 0.7152 * ch(g!) + 0.0722 * ch(b!)
    }
    const background = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor)
        if (c[3] > 0.99) return c
      }
      return [255, 255, 255]
    }
    return [...document.querySelectorAll('button, a.btn')]
      .filter((b) => (b as HTMLElement).offsetParent !== null)
      .map((b) => {
        const fg = lum(rgb(getComputedStyle(b).color))
        const bg = lum(background(b))
        return { text: (b.textContent ?? '').trim(), ratio: (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05) }
      })
  })

describe('the simulator on a 375 px phone', () => {
  it('the simulated phone linked from the waiting page, then /dev/simulator: no horizontal scroll, buttons ≥ 4.5:1', async () => {
    const context = await newContext(browser, { viewport: MOBILE })
    const page = await context.newPage()
    await signIn(page, server.url, 'admin@macrea.test')
    await page.getByRole('button', { name: 'Connecter mon WhatsApp' }).click()
    const open = page.getByRole('link', { name: 'Ouvrir le téléphone simulé' })
    await open.waitFor()
    const href = await open.getAttribute('href')
    expect(href).toMatch(/\/dev\/simulator\/scan\/\d+\/[0-9a-f]+$/)

    const phone = await context.newPage()
    await phone.goto(href!)
    await phone.getByRole('button', { name: 'Scanner' }).waitFor()
    expect(await horizontalOverflow(phone), (await overflowing(phone)).join(', ')).toBeLessThanOrEqual(0)
    const phoneButtons = await buttonContrasts(phone)
    expect(phoneButtons.map((b) => b.text)).toEqual(['Scanner'])
    for (const b of phoneButtons) expect(b.ratio, b.text).toBeGreaterThanOrEqual(4.5)
    await shoot(phone, 'simulated-phone-375')
    await phone.getByRole('button', { name: 'Scanner' }).click()
    await phone.getByRole('heading', { name: /Téléphone lié/ }).waitFor()
    await expect.poll(() => statusLine(page).textContent(), { timeout: 15_000 }).toContain('Connecté')

    await page.goto(`${server.url}/dev/simulator`)
    await page.getByRole('heading', { name: 'Simulateur Green-API' }).waitFor()
    await page.getByRole('table').waitFor()
    expect(await horizontalOverflow(page), (await overflowing(page)).join(', ')).toBeLessThanOrEqual(0)
    const controls = await buttonContrasts(page)
    expect(controls.length).toBeGreaterThan(0)
    for (const b of controls) expect(b.ratio, b.text).toBeGreaterThanOrEqual(4.5)
    await shoot(page, 'dev-simulator-375')
    await context.close()
  }, 90_000)
})
