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
