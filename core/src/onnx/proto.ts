// The ONNX protobuf binding. onnx-proto ships protobufjs static code generated from onnx.proto,
// so model files are parsed and written by a maintained binding rather than by hand.
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
// eslint-disable-next-line @typescript-eslint/no-namespace
export type { onnx as OnnxTypes } from 'onnx-proto';
