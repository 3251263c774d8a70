export { MotionDetector, type MotionFrame, type MotionResult, type MotionSettings } from './motion-detector.js';
export { MotionGate, type GateDecision, type GateReason, type MotionGateSettings } from './motion-gate.js';
