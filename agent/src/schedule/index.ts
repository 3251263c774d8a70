// Between the cameras and inference: one latest-frame slot per camera, served in fair turns.
export * from './latest-slot.js';
export * from './scheduler.js';
