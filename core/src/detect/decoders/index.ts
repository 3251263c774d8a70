import type { DecoderName } from '../../model/metadata.js';
import type { Decoder } from './types.js';
import { nanodetDecoder } from './nanodet.js';
import { yolov8Decoder } from './yolov8.js';
import { kestrelDecoder } from './kestrel.js';

export type { Decoder, DecodeOptions, ModelOutputs, OutputShapes, OutputTensor } from './types.js';
export { nanodetDecoder, sidesFromDistribution } from './nanodet.js';
export { yolov8Decoder } from './yolov8.js';
export { kestrelDecoder } from './kestrel.js';

const DECODER_TABLE: Record<DecoderName, Decoder> = {
  nanodet: nanodetDecoder,
  yolov8: yolov8Decoder,
  kestrel: kestrelDecoder,
};

export function getDecoder(name: DecoderName): Decoder {
  return DECODER_TABLE[name];
}
