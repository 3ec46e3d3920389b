import type { ColumnType, Generated } from 'kysely'

// Row types of the database. They never leave `adapters/` and `db/` (domain types are separate).
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>

export interface TenantsTable {
  id: string
  name: string
  created_at: Timestamp
}

export interface TenantFeaturesTable {
  tenant_id: string
  whatsapp_enabled: ColumnType<boolean, boolean | undefined, boolean>
  sms_enabled: ColumnType<boolean, boolean | undefined, boolean>
  email_enabled: ColumnType<boolean, boolean | undefined, boolean>
  updated_at: Timestamp
  /** Set by a trigger when whatsapp_enabled goes off, cleared when it goes on (decision 169). */
  whatsapp_ended_at: ColumnType<Date | null, never, never>
}

export interface UsersTable {
  id: Generated<string>
  email: string
  name: ColumnType<string, string | undefined, string>
  password_hash: string | null
  created_at: Timestamp
}

export type Role = 'owner' | 'admin' | 'member'

export interface MembershipsTable {
  tenant_id: string
  user_id: string
  role: Role
  created_at: Timestamp
}

export type InstanceMode = 'shared' | 'pool' | 'partner' | 'simulator'

export interface WaInstancesTable {
  id: string
  mode: InstanceMode
  api_url: string
  encrypted_token: string
  encrypted_webhook_token: string | null
  tenant_id: string | null
  claimed_at: NullableTimestamp
  state_polled_at: NullableTimestamp
  /** Released while its phone may still be linked upstream: log out before the next claim. */
  needs_logout: ColumnType<boolean, boolean | undefined, boolean>
  /** Consecutive failed logouts since the quarantine began. */
  logout_failures: ColumnType<number, number | undefined, number>
  /** Next background logout attempt of a quarantined instance (null: due now). */
  logout_retry_at: NullableTimestamp
  /** A background logout attempt in flight until then: claims skip the instance. */
  logout_lease_until: NullableTimestamp
  /** Too many failed logouts: out of the pool until an operator acts. */
  broken_at: NullableTimestamp
  created_at: Timestamp
}

export type ConnectionStatusColumn = 'notAuthorized' | 'authorized' | 'blocked' | 'starting' | 'yellowCard' | 'sleepMode'

export interface TenantProviderConfigsTable {
  id: Generated<string>
  tenant_id: string
  provider: 'green_api'
  encrypted_config: string
  instance_id: string
  connection_status: ConnectionStatusColumn
  is_active: ColumnType<boolean, boolean | undefined, boolean>
  phone_number: string | null
  link_started_at: NullableTimestamp
  link_expires_at: NullableTimestamp
  status_changed_at: Timestamp
  status_checked_at: NullableTimestamp
  last_event_at: NullableTimestamp
  /** Set when the current link attempt's expiry is on the timeline (recorded once). */
  link_expiry_recorded_at: NullableTimestamp
  /** The number the current link attempt expects (E.164), or null (any phone). Decision 200. */
  expected_phone: ColumnType<string | null, string | null | undefined, string | null>
  /** The masked number that scanned instead of `expected_phone` (the attempt was refused). */
  wrong_phone_masked: ColumnType<string | null, string | null | undefined, string | null>
  /** Vault envelope of the linked account's profile name (decision 240). PERSONAL DATA. */
  profile_name_encrypted: ColumnType<string | null, string | null | undefined, string | null>
  /** Version (digest) of the stored profile picture, or null: none. */
  profile_picture_version: ColumnType<string | null, string | null | undefined, string | null>
  /** When the profile was last fetched (refreshed at most daily, decision 242). */
  profile_fetched_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  created_at: Timestamp
  updated_at: Timestamp
}

/** The linked account's profile picture, one per provider row (deleted with it). PERSONAL DATA. */
export interface WaProfilePicturesTable {
  provider_config_id: string
  tenant_id: string
  version: string
  content_type: 'image/jpeg' | 'image/png' | 'image/webp'
  /** Vault envelope of the picture's bytes (base64). */
  picture_encrypted: string
  fetched_at: ColumnType<Date, Date | string, Date | string>
}

/** The last number each tenant linked, kept past a disconnect (prefills the link form). */
export interface WaLastLinkedPhonesTable {
  tenant_id: string
  phone: string
  updated_at: Timestamp
}

export type StatusEventSource = 'link' | 'poll' | 'webhook' | 'disconnect' | 'reconcile' | 'expire' | 'wrong_number'

export interface WaStatusEventsTable {
  id: Generated<string>
  tenant_id: string
  instance_id: string | null
  from_status: string | null
  to_status: string
  source: StatusEventSource
  occurred_at: Timestamp
}

export interface UpgradeRequestsTable {
  id: Generated<string>
  tenant_id: string
  feature: 'whatsapp'
  requested_by: string | null
  created_at: Timestamp
  handled_at: NullableTimestamp
}

export interface SessionsTable {
  id_hash: string
  user_id: string
  created_at: Timestamp
  last_seen_at: Timestamp
  expires_at: Timestamp
  revoked_at: NullableTimestamp
  ip: string | null
  user_agent: string | null
}

export interface ApiTokensTable {
  jti: string
  tenant_id: string
  user_id: string
  name: string
  created_at: Timestamp
  expires_at: Timestamp
  last_used_at: NullableTimestamp
  revoked_at: NullableTimestamp
}

export interface RateLimitCountersTable {
  key: string
  window_start: Date | string
  count: ColumnType<number, number | undefined, number>
}

/** Login-throttle counters (docs/decisions/080): one row per key, window from the first failure. */
export interface LoginThrottleTable {
  key: string
  failures: number
  window_start: Date | string
  next_attempt_at: Timestamp
}

/** sha256(account key | client address) of recent successful password sign-ins. */
export interface LoginKnownAddressesTable {
  key: string
  last_success_at: Timestamp
}

/** Sliding-window rate limits: the accepted hits of one key within its window (oldest first). */
export interface RateLimitWindowsTable {
  key: string
  hits: Date[]
  window_seconds: number
  /** The decision of the latest hit (set by the same statement that records it). */
  last_allowed: ColumnType<boolean, boolean | undefined, boolean>
  updated_at: Date | string
}

export interface AuditLogTable {
  id: Generated<string>
  at: Timestamp
  actor: string
  tenant_id: string | null
  action: string
  outcome: 'success' | 'failure' | 'denied'
  ip: string | null
  details: ColumnType<Record<string, unknown>, string | undefined, never>
}

export type MessageDirectionColumn = 'outbound' | 'inbound'
export type MessageStatusColumn = 'queued' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed' | 'unknown' | 'received'

/** Messages of the CRM API (docs/data.md#wa_messages). Peer and text are vault envelopes. */
export interface WaMessagesTable {
  id: string
  tenant_id: string
  direction: MessageDirectionColumn
  instance_id: string
  /** SECRET-like (personal data): vault envelope of the E.164 number / chat id. */
  peer_encrypted: string
  /** Vault envelope of the text (or of a media placeholder's caption). */
  text_encrypted: string
  content_type: ColumnType<string, string | undefined, string>
  reference: string | null
  status: MessageStatusColumn
  /** `[{status, at}]`, oldest first. */
  status_history: ColumnType<Array<{ status: string; at: string }>, string, string>
  error_code: string | null
  error_message: string | null
  upstream_message_id: string | null
  idempotency_key: string | null
  request_fingerprint: string | null
  created_at: Timestamp
  updated_at: Timestamp
  send_started_at: NullableTimestamp
  expires_at: NullableTimestamp
}

/** A tenant's CRM endpoint for signed events (docs/data.md#crm-events). */
export interface WaWebhookEndpointsTable {
  id: string
  tenant_id: string
  url: string
  /** Subscribed types; null = all. */
  events: string[] | null
  secret_encrypted: string
  enabled: ColumnType<boolean, boolean | undefined, boolean>
  disabled_at: NullableTimestamp
  disabled_reason: string | null
  created_at: Timestamp
  created_by: string
}

export interface WaWebhookEventsTable {
  /** The `webhook-id`. */
  id: string
  tenant_id: string
  type: string
  payload_encrypted: string
  created_at: Timestamp
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'exhausted'

export interface WaWebhookDeliveriesTable {
  id: string
  tenant_id: string
  event_id: string
  endpoint_id: string
  status: ColumnType<WebhookDeliveryStatus, WebhookDeliveryStatus | undefined, WebhookDeliveryStatus>
  attempts: ColumnType<number, number | undefined, number>
  next_attempt_at: NullableTimestamp
  retry_until: Timestamp
  last_attempt_at: NullableTimestamp
  last_http_status: number | null
  last_error: string | null
  created_at: Timestamp
}

export interface WaWebhookAttemptsTable {
  id: string
  tenant_id: string
  delivery_id: string
  at: Timestamp
  http_status: number | null
  error: string | null
  duration_ms: number
  response_encrypted: string | null
}

/** Receipts that came before their message's idMessage was stored (docs/data.md#wa_message_receipts). */
export interface WaMessageReceiptsTable {
  id: Generated<string>
  tenant_id: string
  instance_id: string
  upstream_message_id: string
  status: string
  event_at: Timestamp
  received_at: ColumnType<Date, Date | string | undefined, never>
}

export interface Database {
  tenants: TenantsTable
  tenant_features: TenantFeaturesTable
  users: UsersTable
  memberships: MembershipsTable
  wa_instances: WaInstancesTable
  tenant_provider_configs: TenantProviderConfigsTable
  wa_status_events: WaStatusEventsTable
  wa_last_linked_phones: WaLastLinkedPhonesTable
  wa_profile_pictures: WaProfilePicturesTable
  upgrade_requests: UpgradeRequestsTable
  sessions: SessionsTable
  api_tokens: ApiTokensTable
  rate_limit_counters: RateLimitCountersTable
  login_throttle: LoginThrottleTable
  login_known_addresses: LoginKnownAddressesTable
  rate_limit_windows: RateLimitWindowsTable
  audit_log: AuditLogTable
  wa_messages: WaMessagesTable
  wa_webhook_endpoints: WaWebhookEndpointsTable
  wa_webhook_events: WaWebhookEventsTable
  wa_webhook_deliveries: WaWebhookDeliveriesTable
  wa_webhook_attempts: WaWebhookAttemptsTable
  wa_message_receipts: WaMessageReceiptsTable
  wa_simulator_instances: WaSimulatorInstancesTable
}

/** The Green-API simulator's instances (simulator mode only; decision 215). Not tenant-keyed. */
export interface WaSimulatorInstancesTable {
  id: string
  record: ColumnType<unknown, string, string>
  version: ColumnType<string, number | undefined, never>
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}
