export * from './canonical-json.js';
export * from './keys.js';
export * from './manifest.js';
export * from './sign.js';
export * from './policy.js';
export * from './key-set.js';
