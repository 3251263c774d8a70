// Validation during training runs the network the way a device will: exported to ONNX (BatchNorm
// folded, the exported decoder contract) and run in ONNX Runtime through core's Detector. On the
// wasm backend it is also several times faster than a TF.js forward pass at the deploy size, and
// validation runs every epoch, so short runs get more of their time for training.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeModel } from '@kestrel/core/onnx/io';
import type { Dataset, DatasetItem } from '../data/types.js';
import { buildOnnx } from '../export/export-onnx.js';
import type { KestrelModel } from '../model/build.js';
import { evaluatePredictor, type EvalRun } from './evaluate.js';
import { OnnxPredictor } from './predictors.js';

export class OnnxValidator {
  private dir?: string;
  private rounds = 0;

  constructor(
    private readonly items: readonly DatasetItem[],
    private readonly ds: Pick<Dataset, 'classes' | 'root'>,
    private readonly threads = 1,
  ) {}

  /** Scores the model's current weights on the validation items. */
  async evaluate(model: KestrelModel): Promise<EvalRun> {
    this.dir ??= mkdtempSync(join(tmpdir(), 'kestrel-val-'));
    const path = join(this.dir, `val-${this.rounds++ % 2}.onnx`);
    await writeModel(buildOnnx(model), path);
    const predictor = await OnnxPredictor.load(path, this.threads);
    try {
      return await evaluatePredictor(predictor, this.items, this.ds);
    } finally {
      await predictor.close();
    }
  }

  close(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
