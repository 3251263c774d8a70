// The example config in a folder of its own, with the files it names (TLS certificates) present,
// as they would be on the device it is written for: `config check` verifies that they exist.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const shipped = fileURLToPath(new URL('../../../config/examples/kestrel.example.yaml', import.meta.url));

export function exampleOnItsDevice(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-example-'));
  mkdirSync(join(dir, 'certs'));
  for (const name of ['ca.pem', 'warehouse-pi-1.crt', 'warehouse-pi-1.key']) writeFileSync(join(dir, 'certs', name), '-----BEGIN PLACEHOLDER-----\n');
  const path = join(dir, 'kestrel.example.yaml');
  copyFileSync(shipped, path);
  return path;
}

const shippedHub = fileURLToPath(new URL('../../../config/examples/hub.example.yaml', import.meta.url));

/** A settings line commented out in an example (`  # path: ...`), as opposed to prose. */
const COMMENTED_SETTING = /^(\s*)# (\s*[A-Za-z]\w*:(\s|$))/;

/**
 * The hub example in a folder of its own with the files it names, as shipped or with every
 * setting it shows commented out turned on (the settings that have no default).
 */
export function hubExampleOnItsHub(options: { uncommented?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-hub-example-'));
  mkdirSync(join(dir, 'certs'));
  for (const name of ['ca.pem', 'hub.crt', 'hub.key']) writeFileSync(join(dir, 'certs', name), '-----BEGIN PLACEHOLDER-----\n');
  const path = join(dir, 'hub.example.yaml');
  const text = readFileSync(shippedHub, 'utf8');
  writeFileSync(path, options.uncommented ? uncommentSettings(text) : text);
  return path;
}

export function uncommentSettings(yaml: string): string {
  return yaml
    .split('\n')
    .map((line) => line.replace(COMMENTED_SETTING, '$1$2'))
    .join('\n');
}
