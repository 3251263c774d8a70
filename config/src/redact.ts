/**
 * A config is logged, printed by `kestrel config show` and may be published; its secrets must
 * not travel with it. Values under secret-looking keys are replaced, and every URL loses the
 * credentials written into it (`rtsp://admin:hunter2@cam/...` is the usual way cameras take them).
 */

export const REDACTED = '[redacted]';

/** Keys whose values are secrets. Not `key` alone: `mqtt.tls.key` is a file path, not a secret. */
const SECRET_KEY = /pass(word|wd|phrase)?$|secret|token|api_?key|credential/i;

/** URL query parameters that carry secrets (some cameras take `?user=admin&password=...`). */
const SECRET_PARAM = /^(pass(word|wd)?|pwd|token|secret|key|api_?key|auth|sig(nature)?)$/i;

/** A deep copy of `config` that is safe to log or publish. */
export function redactConfig<T>(config: T): T {
  return redactValue(config, undefined) as T;
}

function redactValue(value: unknown, key: string | undefined): unknown {
  if (typeof value === 'string') return key !== undefined && SECRET_KEY.test(key) && value !== '' ? REDACTED : redactString(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, undefined));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, k)]));
  }
  return value;
}

/** Strips credentials from a URL-looking string (user info and secret query parameters); other strings are returned as they are. */
export function redactString(text: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text);
  if (!scheme) return text;
  const withoutUserInfo = text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, `$1${REDACTED}@`);
  return withoutUserInfo.replace(/([?&])([^=&#]+)=([^&#]*)/g, (whole, separator: string, name: string) =>
    SECRET_PARAM.test(decodeURIComponentSafe(name)) ? `${separator}${name}=${REDACTED}` : whole,
  );
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
