export * from './updater.js';
export * from './download.js';
export * from './smoke-test.js';
export * from './health-watch.js';
export * from './inference-counters.js';
export * from './state-store.js';
export * from './mqtt-channel.js';
export * from './agent-updates.js';
