// Checkpoints: a folder holding the TF.js LayersModel artifacts (model.json + weights.bin, which
// tf.loadLayersModel also reads), kestrel.json (detector config and training state) and, for
// --resume, the optimizer's moments. Loading rebuilds the network from the config and copies
// weights by name, which is also how fine-tuning keeps everything but a resized class head.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { KestrelError } from '@kestrel/core/util/errors';
import { buildDetector, type KestrelModel } from './build.js';
import { resolveDetectorConfig, withSavedDefaults, type DetectorConfig } from './config.js';

export interface TrainingState {
  epoch: number;
  step: number;
  bestFitness: number;
  bestEpoch: number;
  datasetHash?: string;
  /** The train() arguments, for --resume. */
  args?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

export interface CheckpointFile {
  schema: 1;
  kind: 'kestrel-checkpoint';
  config: DetectorConfig;
  state: TrainingState;
  savedAt: string;
}

export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

export interface LoadedCheckpoint {
  model: KestrelModel;
  file: CheckpointFile;
  optimizerWeights?: NamedTensor[];
}

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
const KESTREL_JSON = 'kestrel.json';
const OPTIMIZER_JSON = 'optimizer.json';
const OPTIMIZER_BIN = 'optimizer.bin';

export async function saveCheckpoint(dir: string, model: KestrelModel, state: TrainingState, optimizer?: tf.Optimizer): Promise<void> {
  // Written into a sibling folder and renamed: a crash mid-save never leaves half a checkpoint.
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await model.net.save(tf.io.withSaveHandler(async (artifacts) => {
    const { weightData, ...rest } = artifacts;
    writeFileSync(join(tmp, WEIGHTS_BIN), Buffer.from(concatWeightData(weightData)));
    writeFileSync(join(tmp, MODEL_JSON), JSON.stringify({ modelTopology: rest.modelTopology, format: 'layers-model', generatedBy: 'kestrel', weightsManifest: [{ paths: [WEIGHTS_BIN], weights: rest.weightSpecs }] }));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const file: CheckpointFile = { schema: 1, kind: 'kestrel-checkpoint', config: model.config, state, savedAt: new Date().toISOString() };
  writeFileSync(join(tmp, KESTREL_JSON), JSON.stringify(file, null, 2));
  if (optimizer) {
    const weights = await optimizer.getWeights();
    const { data, specs } = await tf.io.encodeWeights(weights);
    writeFileSync(join(tmp, OPTIMIZER_BIN), Buffer.from(concatWeightData(data)));
    writeFileSync(join(tmp, OPTIMIZER_JSON), JSON.stringify(specs));
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(tmp, dir);
}

export function isCheckpoint(path: string): boolean {
  return existsSync(join(path, KESTREL_JSON)) && existsSync(join(path, MODEL_JSON));
}

export function readCheckpointFile(dir: string): CheckpointFile {
  if (!isCheckpoint(dir)) throw new KestrelError('E_CHECKPOINT', `${dir} is not a Kestrel checkpoint (expected ${KESTREL_JSON} and ${MODEL_JSON} in it)`);
  const file = JSON.parse(readFileSync(join(dir, KESTREL_JSON), 'utf8')) as CheckpointFile;
  if (file.kind !== 'kestrel-checkpoint') throw new KestrelError('E_CHECKPOINT', `${dir}/${KESTREL_JSON} is not a Kestrel checkpoint description`);
  return file;
}

/** The saved weights by their original names ("stem/kernel", "stem_bn/gamma", ...). */
export function readWeights(dir: string): tf.NamedTensorMap {
  const manifest = JSON.parse(readFileSync(join(dir, MODEL_JSON), 'utf8')) as { weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }> };
  const specs = manifest.weightsManifest.flatMap((g) => g.weights);
  const bytes = readFileSync(join(dir, WEIGHTS_BIN));
  return tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), specs);
}

/**
 * Loads a checkpoint. With `labels` different from the checkpoint's, the network is rebuilt for
 * the new classes and every weight but the class outputs is carried over (transfer learning).
 */
export async function loadCheckpoint(dir: string, overrides: Partial<Pick<DetectorConfig, 'labels' | 'inputHeight' | 'inputWidth'>> = {}): Promise<LoadedCheckpoint & { reinitialised: string[] }> {
  const file = readCheckpointFile(dir);
  const config = resolveDetectorConfig({ ...withSavedDefaults(file.config), ...overrides });
  const model = buildDetector(config);
  const reinitialised = copyWeights(model, readWeights(dir));
  let optimizerWeights: NamedTensor[] | undefined;
  if (existsSync(join(dir, OPTIMIZER_JSON))) {
    const specs = JSON.parse(readFileSync(join(dir, OPTIMIZER_JSON), 'utf8')) as tf.io.WeightsManifestEntry[];
    const bytes = readFileSync(join(dir, OPTIMIZER_BIN));
    const map = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), specs);
    optimizerWeights = specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
  }
  return { model, file, optimizerWeights, reinitialised };
}

/** Copies weights whose name and shape match; returns the names of weights left as initialised. */
export function copyWeights(model: KestrelModel, weights: tf.NamedTensorMap): string[] {
  const left: string[] = [];
  for (const layer of model.net.layers) {
    const vars = layer.weights;
    if (vars.length === 0) continue;
    const values = vars.map((v) => {
      const saved = weights[v.originalName];
      if (saved && tf.util.arraysEqual(saved.shape, v.shape as number[])) return saved;
      left.push(v.originalName);
      return v.read();
    });
    layer.setWeights(values);
  }
  for (const t of Object.values(weights)) t.dispose();
  return left;
}

function concatWeightData(data: ArrayBuffer | ArrayBuffer[] | undefined): ArrayBuffer {
  if (!data) return new ArrayBuffer(0);
  return Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
}
