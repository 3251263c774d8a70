export * from './plan.js';
export * from './fleet-view.js';
export * from './controller.js';
export * from './records.js';
