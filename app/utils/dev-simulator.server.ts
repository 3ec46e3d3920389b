import { tenantInstanceId } from '../../domain/whatsapp'
import { bootedSimulator } from '../boot.server'
import { getServices } from '../services.server'
import { requirePageContext, type PageContext } from './guards.server'

export type BootedSimulator = NonNullable<ReturnType<typeof bootedSimulator>>

/** `/dev/simulator*`: simulator mode only (else 404); owners/admins only (the page guard's answer). */
export async function requireSimulator(request: Request, context: unknown): Promise<{ sim: BootedSimulator; ctx: PageContext }> {
  const simulator = bootedSimulator()
  if (!simulator) throw new Response('Not Found', { status: 404 })
  const ctx = await requirePageContext(request, { mutating: true, context })
  return { sim: simulator, ctx }
}

/**
 * The simulator pages show and drive the viewer's own instance only: the simulator holds every
 * tenant's instances, and an admin of one tenant must not break, link, unlink or write to
 * another's. Operators see every instance with `npm run ops -- instances list` (decision 076).
 */
export const ownInstanceOf = (ctx: PageContext): Promise<string | null> =>
  tenantInstanceId(getServices().whatsapp, { tenantId: ctx.tenantId })

/**
 * Simulator mode: where the waiting page's "open the simulated phone" link points (decision 216),
 * for the tenant's own instance only; null outside simulator mode or without an instance.
 */
export async function simulatedPhoneLink(
  tenantId: string,
  shown: 'qr' | 'pairing',
): Promise<{ kind: 'scan' | 'pair'; href: string } | null> {
  const simulator = bootedSimulator()
  if (!simulator) return null
  const mine = await tenantInstanceId(getServices().whatsapp, { tenantId })
  if (!mine) return null
  const urls = await simulator.shared(() => simulator.phoneUrls(mine))
  if (!urls) return null
  if (shown === 'pairing') return { kind: 'pair', href: urls.pair }
  return urls.scan ? { kind: 'scan', href: urls.scan } : null
}
