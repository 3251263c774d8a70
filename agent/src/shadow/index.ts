export * from './shadow-runner.js';
export * from './tally.js';
