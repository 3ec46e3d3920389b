import type { InstanceMode } from '../ports/instance-allocator'
import { DEFAULT_WHATSAPP_CONFIG, type WhatsAppConfig, type WhatsAppDeps } from '../whatsapp/whatsapp-deps'
import { INSTANCE_TOKEN_LOCATION } from '../whatsapp/use-case-helpers'
import { FakePartnerProvider, FakeWhatsAppProvider } from './fake-whatsapp-provider'
import { InMemoryConnectionRepository } from './in-memory-connection-repository'
import { InMemoryFeatureStore } from './in-memory-feature-store'
import { InMemoryInstanceAllocator } from './in-memory-instance-allocator'
import { RecordingLinkOutcomes } from './recording-link-outcomes'
import {
  FakeSecretGenerator,
  FakeVault,
  InMemoryAuditLog,
  InMemoryRateLimiter,
  InMemoryStatusPublisher,
  ManualClock,
  RecordingEventSink,
  RecordingLogger,
  RecordingSendQueueWaker,
  SequenceIdGenerator,
} from './small-port-fakes'

export interface TestWorld {
  deps: WhatsAppDeps
  clock: ManualClock
  features: InMemoryFeatureStore
  connections: InMemoryConnectionRepository
  instances: InMemoryInstanceAllocator
  provider: FakeWhatsAppProvider
  partner: FakePartnerProvider
  vault: FakeVault
  audit: InMemoryAuditLog
  linkOutcomes: RecordingLinkOutcomes
  rateLimiter: InMemoryRateLimiter
  publisher: InMemoryStatusPublisher
  events: RecordingEventSink
  sendQueue: RecordingSendQueueWaker
  secrets: FakeSecretGenerator
  logger: RecordingLogger
  /** Registers a free instance known to both the allocator and the provider fake. */
  addInstance(id: string, mode?: InstanceMode): { token: string }
}

/** All ports as fakes, `simulator` mode by default, tenant `acme` enabled. */
export function createTestWorld(config: Partial<WhatsAppConfig> = {}): TestWorld {
  const clock = new ManualClock()
  const features = new InMemoryFeatureStore(clock)
  const connections = new InMemoryConnectionRepository()
  const instances = new InMemoryInstanceAllocator(clock)
  const provider = new FakeWhatsAppProvider()
  const partner = new FakePartnerProvider(provider)
  const vault = new FakeVault()
  const audit = new InMemoryAuditLog()
  const linkOutcomes = new RecordingLinkOutcomes()
  const rateLimiter = new InMemoryRateLimiter(clock)
  const publisher = new InMemoryStatusPublisher()
  const events = new RecordingEventSink()
  const sendQueue = new RecordingSendQueueWaker()
  const secrets = new FakeSecretGenerator()
  const logger = new RecordingLogger()
  features.holdsInstance = async (tenantId) =>
    Boolean(await connections.findByTenant(tenantId)) || Boolean(await instances.findClaimedBy(tenantId))
  const deps: WhatsAppDeps = {
    features,
    connections,
    instances,
    provider,
    partner,
    vault,
    clock,
    audit,
    linkOutcomes,
    rateLimiter,
    publisher,
    events,
    sendQueue,
    secrets,
    ids: new SequenceIdGenerator(),
    logger,
    config: { ...DEFAULT_WHATSAPP_CONFIG, ...config },
  }
  features.setFlags('acme', { whatsapp_enabled: true })
  return {
    deps,
    clock,
    features,
    connections,
    instances,
    provider,
    partner,
    vault,
    audit,
    linkOutcomes,
    rateLimiter,
    publisher,
    events,
    sendQueue,
    secrets,
    logger,
    addInstance(id, mode = 'simulator') {
      const token = `secret-token-${id}`
      instances.add(id, mode, vault.encrypt(token, INSTANCE_TOKEN_LOCATION))
      provider.addInstance(id, token)
      return { token }
    },
  }
}
