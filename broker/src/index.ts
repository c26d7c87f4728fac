/** What other code (scripts, tests, tools) may use from the broker. */
export * from './topic-filter.js';
export * from './acl.js';
export * from './certificates.js';
export * from './provisioning.js';
export { AccountStore, AclStore } from './accounts.js';
export {
  ClientConnection,
  MalformedPacketError,
  SlowClientError,
  connectionOf,
  remoteAddressOf,
  type ClientConnectionOptions,
} from './client-connection.js';
export { InboundPacketCheck, type InboundVerdict, type OversizePacket } from './inbound-packet-check.js';
export { unsupportedProtocolLevel } from './fixed-header.js';
export { BrokerMetrics, METRIC_PREFIX } from './metrics.js';
export { createAccessHooks, type AccessHooks, type AccessHookDeps } from './access-hooks.js';
export { LoginRefusedError, PublishRefusedError } from './refusals.js';
export { MqttBroker, type MqttBrokerOptions, type ListenerName } from './mqtt-broker.js';
export { classifyClientError } from './client-errors.js';
export { HealthServer, type HealthServerOptions } from './health-server.js';
export { BROKER_SETTINGS, prepareBrokerFiles, type BrokerConfig, type BrokerFiles } from './broker-config.js';
