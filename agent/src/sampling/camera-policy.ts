import type { SamplingConfig, SamplingQuota, StrategyConfigs, StrategyName } from '@kestrel/config/schema/sampling';
import { Quota } from './quota.js';
import { CountChangeStrategy, DisagreementStrategy, DriftStrategy, RandomStrategy, RareClassStrategy, UncertaintyStrategy } from './strategies/index.js';
import type { SamplingStrategy } from './types.js';

/** One enabled strategy of one camera, with its own quota (cameras never share buckets). */
export interface CameraStrategy {
  strategy: SamplingStrategy;
  quota: Quota;
}

/** The strategy settings of one camera: the defaults with that camera's overrides laid over them. */
export function cameraStrategyConfigs(config: Pick<SamplingConfig, 'strategies' | 'cameras'>, camera: string): StrategyConfigs {
  const overrides = config.cameras[camera]?.strategies ?? {};
  const merged = { ...config.strategies } as Record<StrategyName, object>;
  for (const [name, override] of Object.entries(overrides) as [StrategyName, object | undefined][]) {
    if (override) merged[name] = { ...merged[name], ...override };
  }
  return merged as StrategyConfigs;
}

export function cameraSamplingEnabled(config: Pick<SamplingConfig, 'cameras'>, camera: string): boolean {
  return config.cameras[camera]?.enabled !== false;
}

/**
 * Builds the enabled strategies of one camera, each with a fresh quota. `drifted`: whether a
 * camera's drift alert is on now (the drift strategy acts only then; never, without it).
 */
export function buildCameraStrategies(configs: StrategyConfigs, now: number, random: () => number = Math.random, drifted: (camera: string) => boolean = () => false): CameraStrategy[] {
  const built: CameraStrategy[] = [];
  const add = (enabled: boolean, strategy: SamplingStrategy, quota: SamplingQuota) => {
    if (enabled) built.push({ strategy, quota: new Quota(quota, now) });
  };
  const s = configs;
  add(s.uncertainty.enabled, new UncertaintyStrategy(s.uncertainty), s.uncertainty.quota);
  add(s.random.enabled, new RandomStrategy(s.random.probability, random), s.random.quota);
  add(s.rareClass.enabled, new RareClassStrategy(s.rareClass), s.rareClass.quota);
  add(s.countChange.enabled, new CountChangeStrategy(s.countChange), s.countChange.quota);
  add(s.disagreement.enabled, new DisagreementStrategy(s.disagreement), s.disagreement.quota);
  add(s.drift.enabled, new DriftStrategy(s.drift.probability, drifted, random), s.drift.quota);
  return built;
}
