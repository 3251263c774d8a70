export { loadConfig, checkConfig, type LoadedConfig, type ConfigOrigin, type ConfigCheck, type ConfigSource, type CommandLineOverrides } from './load.js';
export { cameraFromSource, SOURCE_FLAG_HELP } from './source-override.js';
export { loadHubConfig, parseHubConfig, checkHubConfig, type HubConfigCheck } from './load-hub.js';
export { createHubConfigSchema, DEFAULT_HUB_BIND, type HubConfig, type HubConfigInput, type HubConfigSchema } from './schema/hub.js';
export {
  createConfigSchema,
  PROVIDER_NAMES,
  type AgentConfig,
  type AgentConfigInput,
  type CameraConfig,
  type CameraSource,
  type MqttConfig,
  type ModelConfig,
  type HomeAssistantConfig,
  type AgentDriftConfig,
  type ConfigSchema,
} from './schema/agent.js';
export { driftSchema, type DriftConfig } from './schema/drift.js';
export { DEFAULT_MQTT_URL } from './schema/mqtt.js';
export { NAME_PATTERN, LOG_LEVELS } from './schema/common.js';
export { STRATEGY_NAMES, type StrategyName, type SamplingConfig, type SamplingQuota, type SamplingUploadConfig } from './schema/sampling.js';
export { configContext, deviceIdFromHostname, defaultStateDir, type ConfigContext, type Env } from './context.js';
export { ENV_OVERRIDES, type AppliedOverride } from './env.js';
export { formatIssue, formatPath, type ConfigIssue } from './issues.js';
export { configJsonSchema, hubConfigJsonSchema, type JsonSchema } from './json-schema.js';
export { redactConfig, redactString, REDACTED } from './redact.js';
export { parseBind, type BindAddress } from './bind.js';
export { registerConfigCommands } from './commands.js';
