export { UncertaintyStrategy } from './uncertainty.js';
export { RandomStrategy } from './random.js';
export { RareClassStrategy } from './rare-class.js';
export { CountChangeStrategy } from './count-change.js';
export { DisagreementStrategy, unmatched } from './disagreement.js';
export { DriftStrategy } from './drift.js';
