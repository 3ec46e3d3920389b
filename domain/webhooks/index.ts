// Public surface of the CRM events context (signed webhooks to the tenant's endpoints): the only
// domain/webhooks module app/, adapters/ and server/ may import.
export { deliverEvent, RESPONSE_EXCERPT_CHARS, type DeliveryRun } from './deliver-event'
export {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  endpointView,
  listWebhookDeliveries,
  listWebhookEndpoints,
  resendWebhookDelivery,
  rotateWebhookSecret,
  webhookOverview,
  type DeliveryView,
  type EndpointView,
} from './endpoints'
export { StoredEventSink, type CrmEventPresenter } from './stored-event-sink'
export {
  DEFAULT_WEBHOOK_CONFIG,
  attemptResponseAt,
  endpointSecretAt,
  eventPayloadAt,
  retryDelayMs,
  type WebhookConfig,
  type WebhookDeps,
} from './webhook-deps'
