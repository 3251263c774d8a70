export * from './histograms.js';
export * from './distance.js';
export * from './baseline.js';
export * from './compare.js';
