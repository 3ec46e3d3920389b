import type { Migration } from 'kysely'
import * as m000100 from './2026_11_25_000100_foundation'
import * as m000200 from './2026_11_25_000200_whatsapp_core'
import * as m000500 from './2026_11_25_000500_cache_invalidation'
import * as m000600 from './2026_11_25_000600_instance_needs_logout'
import * as m100100 from './2026_12_02_100100_login_throttle'
import * as m110000 from './2026_12_02_110000_instance_logout_retries'
import * as m111000 from './2026_12_02_111000_rate_limit_sliding_windows'
import * as m200000 from './2026_12_02_200000_status_writes_only_on_change'
import * as m20261203100000 from './2026_12_03_100000_messages'
import * as m031100webhooks from './2026_12_03_110000_webhook_endpoints'
import * as m20261203105000 from './2026_12_03_105000_message_receipts'
import * as m120000 from './2026_12_03_120000_addon_end'
import * as m041300simulator from './2026_12_04_130000_simulator_state'
import * as m20261204100000 from './2026_12_04_100000_expected_phone'
import * as m20261205100000 from './2026_12_05_100000_linked_profile'
import * as m051200wrongNumber from './2026_12_05_120000_status_event_wrong_number'
import * as m051300retention from './2026_12_05_130000_status_events_retention'
import * as m061000tokenTouch from './2026_12_06_100000_token_touch_without_notify'

/**
 * Every migration, by name, imported statically so that the compiled server (esbuild, plain
 * `node` in production) carries them: no directory scan, no `.ts` at run time. Names sort by
 * their timestamp prefix. A migration file missing here fails tests/integration/migrations.test.ts.
 */
export const migrations: Record<string, Migration> = {
  '2026_11_25_000100_foundation': m000100,
  '2026_11_25_000200_whatsapp_core': m000200,
  '2026_11_25_000500_cache_invalidation': m000500,
  '2026_11_25_000600_instance_needs_logout': m000600,
  '2026_12_02_100100_login_throttle': m100100,
  '2026_12_02_110000_instance_logout_retries': m110000,
  '2026_12_02_111000_rate_limit_sliding_windows': m111000,
  '2026_12_02_200000_status_writes_only_on_change': m200000,
  '2026_12_03_100000_messages': m20261203100000,
  '2026_12_03_110000_webhook_endpoints': m031100webhooks,
  '2026_12_03_105000_message_receipts': m20261203105000,
  '2026_12_03_120000_addon_end': m120000,
  '2026_12_04_130000_simulator_state': m041300simulator,
  '2026_12_04_100000_expected_phone': m20261204100000,
  '2026_12_05_100000_linked_profile': m20261205100000,
  '2026_12_05_120000_status_event_wrong_number': m051200wrongNumber,
  '2026_12_05_130000_status_events_retention': m051300retention,
  '2026_12_06_100000_token_touch_without_notify': m061000tokenTouch,
}
