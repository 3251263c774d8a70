export * from './ports.js';
export * from './key-files.js';
export * from './release-service.js';
export * from './routes.js';
export * from './commands.js';
