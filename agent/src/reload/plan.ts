import type { AgentConfig, CameraConfig } from '@kestrel/config';

/** What a reload does to the running agent. */
export interface ReloadPlan {
  /** Cameras to start (new names, or newly enabled). */
  add: CameraConfig[];
  /** Cameras to stop (gone, or disabled). */
  remove: string[];
  /** Cameras whose settings changed: stopped and started again with the new settings. */
  restart: CameraConfig[];
  /** Cameras left running untouched. */
  unchanged: string[];
  /** Sections that differ from the running agent's and only take effect after a restart. */
  needsRestart: string[];
}

/**
 * Only cameras change live: they are independent of each other and of the rest. The model,
 * MQTT connection, device id, state directory, outbox, HTTP endpoint, logging and sampling are
 * built once at start and shared by every part, so a change there waits for a restart (and is
 * reported as such rather than half applied).
 */
const COMPARED_APART = new Set([
  'cameras', // applied live, camera by camera
  'origin', // where the config was read from, not a setting
]);

export function planReload(running: AgentConfig, next: AgentConfig): ReloadPlan {
  const before = new Map(running.cameras.filter((c) => c.enabled).map((c) => [c.name, c]));
  const after = new Map(next.cameras.filter((c) => c.enabled).map((c) => [c.name, c]));
  const plan: ReloadPlan = { add: [], remove: [], restart: [], unchanged: [], needsRestart: [] };
  for (const name of before.keys()) if (!after.has(name)) plan.remove.push(name);
  for (const [name, camera] of after) {
    const old = before.get(name);
    if (!old) plan.add.push(camera);
    else if (stableJson(old) !== stableJson(camera)) plan.restart.push(camera);
    else plan.unchanged.push(name);
  }
  const sections = new Set([...Object.keys(running), ...Object.keys(next)]);
  for (const section of sections) {
    if (COMPARED_APART.has(section)) continue;
    const a = (running as Record<string, unknown>)[section];
    const b = (next as Record<string, unknown>)[section];
    if (stableJson(a) !== stableJson(b)) plan.needsRestart.push(section);
  }
  plan.needsRestart.sort();
  return plan;
}

export function planIsEmpty(plan: ReloadPlan): boolean {
  return plan.add.length + plan.remove.length + plan.restart.length === 0;
}

/** JSON with object keys sorted, so that two equal configs compare equal whatever their key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  ) ?? 'undefined';
}
