export { AgentMetrics, type AgentInfo, type MetricsSnapshot } from './agent-metrics.js';
