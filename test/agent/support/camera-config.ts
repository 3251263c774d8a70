// A camera's parsed config (defaults filled in, as the agent gets it) from a few settings, so
// tests build trackers the way the agent does rather than with hand-made option objects.
import { checkConfig, type CameraConfig } from '@kestrel/config';

export function cameraConfig(camera: Record<string, unknown> = {}): CameraConfig {
  const result = checkConfig({ text: JSON.stringify({ cameras: [{ name: 'door', source: { type: 'demo' }, ...camera }] }) }, {});
  if (!result.ok) throw new Error(`bad test camera: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return result.config.cameras[0];
}

/** ObjectTracker options from camera settings: `{ camera, filters, tracker }`. */
export function trackerOptions(camera: Record<string, unknown> = {}): { camera: string; filters: CameraConfig['filters']; tracker: CameraConfig['tracker'] } {
  const c = cameraConfig(camera);
  return { camera: c.name, filters: c.filters, tracker: c.tracker };
}

/** Tracker settings (the camera's tracker section plus filters.minScore) from camera settings. */
export function trackerSettings(camera: Record<string, unknown> = {}): CameraConfig['tracker'] & { minScore: number } {
  const c = cameraConfig(camera);
  return { ...c.tracker, minScore: c.filters.minScore };
}
