// The execution provider names on their own, without ONNX Runtime: the config schema validates
// them, and checking a config file must not need to load the native runtime.

/** Execution providers Kestrel knows, fastest first. */
export const PROVIDERS = ['tensorrt', 'cuda', 'cpu'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export const DEFAULT_PROVIDERS: ProviderName[] = [...PROVIDERS];
