export * from './plan.js';
export * from './fleet-view.js';
export * from './controller.js';
export * from './records.js';
export * from './driver.js';
export * from './request.js';
export * from './signed-request.js';
