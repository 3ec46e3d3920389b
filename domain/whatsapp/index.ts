// Public surface of the WhatsApp context: the only domain/whatsapp module app/, adapters/, db/
// and server/ may import (lint: domain-only-through-its-public-surface). Export here what they
// need, nothing more.
export { applyProviderEvent, type ProviderEventResult } from './apply-provider-event'
export { CONNECTION_STATES, type ConnectionState } from './connection-state'
export { DEFAULT_WHATSAPP_CONFIG, type Actor, type WhatsAppConfig, type WhatsAppDeps } from './deps'
export { disconnect, type DisconnectResult } from './disconnect'
export { getFeatures, handleUpgradeRequest, requestUpgrade, requireWhatsAppEnabled, setFeatureFlags } from './features'
export { generateQr, type GenerateQrResult } from './generate-qr'
export { getConnectionStatus, type ConnectionStatusResult } from './get-connection-status'
export { INSTANCE_TOKEN_LOCATION, configLocation, WEBHOOK_TOKEN_LOCATION } from './internal'
export { retryQuarantinedLogouts, type LogoutRetryReport } from './quarantine'
export { reconcileOnStart, type ReconcileReport } from './reconcile-on-start'
export { requestPairingCode, type PairingCodeResult } from './request-pairing-code'
export { sendTestMessage } from './send-test-message'
export { planStatusUpdate, type StatusUpdatePlan } from './status-update'
export { tenantInstanceId } from './tenant-instance'
export * from './validation'
export * from './whatsapp.errors'
