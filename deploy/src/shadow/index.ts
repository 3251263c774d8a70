export * from './aggregate.js';
export * from './request.js';
export * from './routes.js';
