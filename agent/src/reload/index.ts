export { planReload, planIsEmpty, stableJson, type ReloadPlan } from './plan.js';
export { ConfigWatcher, type ConfigWatcherOptions } from './config-watcher.js';
