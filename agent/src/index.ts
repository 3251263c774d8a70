export { Agent, type AgentDeps } from './agent.js';
export { InferenceEngine } from './inference/engine.js';
export type { ModelInfo, InferenceResult } from './inference/protocol.js';
export { Outbox, type OutboxLimits } from './publish/outbox.js';
export { MqttLink } from './publish/mqtt-link.js';
export { EventPublisher } from './publish/event-publisher.js';
export { EmbeddedBroker, isListening } from './broker/embedded.js';
export { registerAgentCommands } from './commands.js';
export * from './source/index.js';
