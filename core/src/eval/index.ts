// Detection metrics shared by `kestrel eval` (trainer) and `kestrel quantize`'s agreement report.
export * from './types.js';
export * from './ap.js';
export * from './match.js';
export * from './confusion.js';
export * from './metrics.js';
