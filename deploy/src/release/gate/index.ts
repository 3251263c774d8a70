export * from './types.js';
export * from './gate-set.js';
export * from './score.js';
export * from './gate.js';
export * from './format.js';
