export { createNotifier, encodeNotification, type Notifier, type NotifierOptions } from './sd-notify.js';
export { SystemdService, watchdogPeriodMs, type Liveness, type SystemdServiceOptions } from './service.js';
export { watchdogLiveness, type LivenessInput } from './liveness.js';
