// The example config in a folder of its own, with the files it names (TLS certificates) present,
// as they would be on the device it is written for: `config check` verifies that they exist.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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
