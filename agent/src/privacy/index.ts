// Privacy masks: camera areas blanked in every frame before anything keeps it.
export * from './mask-runs.js';
export * from './privacy-mask.js';
