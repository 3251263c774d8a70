import { existsSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { KestrelError } from '@kestrel/core/util/errors';

/** What `kestrel agent --source` takes, in its own words (its help and its errors say the same). */
export const SOURCE_FLAG_HELP = 'an rtsp:// URL, a video file, a V4L2 device (/dev/video0) or demo';

/**
 * `kestrel agent --source <spec>`: one camera, written as the config would write it, that takes
 * the place of the config's cameras (the way Frigate or `yolo predict source=` are pointed at a
 * camera without a file). It goes through the same schema as a written camera, so a URL the
 * schema refuses gets the schema's message, and its defaults (fps, filters, file looping) apply.
 * - a URL (`scheme://…`) → an rtsp source (any other scheme is refused by the schema, which says
 *   what an RTSP URL looks like);
 * - `/dev/…` → a v4l2 device;
 * - `demo` → the demo camera;
 * - anything else → a video file, resolved against the working directory.
 * The camera is named after the source (the URL's last path part or its host, the device's or
 * the file's name), so its MQTT topics say which camera it is.
 */
export function cameraFromSource(spec: string, cwd: string): { name: string; source: Record<string, unknown> } {
  const text = spec.trim();
  if (text === 'demo') return { name: 'demo', source: { type: 'demo' } };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return { name: cameraName(urlName(text)), source: { type: 'rtsp', url: text } };
  if (text.startsWith('/dev/')) return { name: cameraName(basename(text)), source: { type: 'v4l2', device: text } };
  const path = resolve(cwd, text);
  if (!existsSync(path)) throw new KestrelError('E_USAGE', `--source ${spec}: no such file; give ${SOURCE_FLAG_HELP}`);
  return { name: cameraName(basename(path, extname(path))), source: { type: 'file', path } };
}

function urlName(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^/:?#]*)[^/?#]*([^?#]*)/i.exec(url);
  const host = m?.[1] ?? '';
  const last = (m?.[2] ?? '').split('/').filter(Boolean).pop();
  return last ?? host;
}

/** Made to fit NAME_PATTERN: other characters become "_", at most 64. */
function cameraName(raw: string): string {
  const name = raw.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 64);
  return name || 'camera';
}
