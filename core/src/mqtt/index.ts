export * from './topics.js';
export * from './payloads.js';
export * from './codec.js';
export * from './outgoing.js';
