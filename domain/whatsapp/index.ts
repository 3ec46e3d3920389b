// Public surface of the WhatsApp context: the only domain/whatsapp module app/, adapters/, db/
// and server/ may import (lint: domain-only-through-its-public-surface). Export here what they
// need, nothing more.
export { addonEndOf, addonGraceOf, requireWhatsAppOrGrace, unlinkAfterAddonEnd, type AddonEnd } from './addon-end'
export { applyProviderEvent, type ProviderEventResult } from './apply-provider-event'
export { CONNECTION_STATES, type ConnectionState } from './connection-state'
export { DEFAULT_WHATSAPP_CONFIG, type Actor, type WhatsAppConfig, type WhatsAppDeps } from './whatsapp-deps'
export { disconnect, type DisconnectResult } from './disconnect'
export { getFeatures, handleUpgradeRequest, requestUpgrade, requireWhatsAppEnabled, setFeatureFlags } from './features'
export { generateQr, type GenerateQrResult } from './generate-qr'
export { decodeConnectionStatus, getConnectionStatus, type ConnectionStatusResult } from './get-connection-status'
export { currentLinkDisplay, showNewPairingCode, showNewQr, type LinkDisplay } from './link-display'
export { INSTANCE_TOKEN_LOCATION, configLocation, WEBHOOK_TOKEN_LOCATION } from './use-case-helpers'
export {
  deleteNumber,
  lifecycleActionsOf,
  rebootInstance,
  REBOOTABLE_STATES,
  type DeleteNumberResult,
  type LifecycleActions,
} from './lifecycle'
export { addPoolInstance } from './pool-instances'
export { retryQuarantinedLogouts, type LogoutRetryReport } from './quarantine'
export { reconcileOnStart, type ReconcileReport } from './reconcile-on-start'
export { refreshDueStates, type RefreshReport } from './refresh-due-states'
export { requestPairingCode, type PairingCodeResult } from './request-pairing-code'
export { sendTestMessage } from './send-test-message'
export { planStatusUpdate, type StatusUpdatePlan } from './status-update'
export { tenantInstanceId } from './tenant-instance'
export { type LinkedAccount } from './linked-account'
export * from './validation'
export * from './whatsapp.errors'
export {
  adviceFor,
  getStatusHistory,
  hasEverLinked,
  MAX_HISTORY_PAGE,
  purgeOldStatusEvents,
  STATUS_ADVICE,
  STATUS_REASONS,
  STATUS_SOURCES,
  type StatusAdvice,
  type StatusHistoryEntry,
  type StatusReason,
} from './status-history'
export { derivePhase, type LinkPhase } from './connection-machine'
export {
  PROFILE_IMAGE_TYPES,
  PROFILE_REFRESH_MS,
  getProfilePicture,
  imageTypeOf,
  profileDue,
  profileKept,
  profileRefreshQueue,
  refreshLinkedProfile,
  withProfile,
  type ProfileImageType,
  type ProfilePicture,
  type ProfileRefreshResult,
} from './linked-profile'
