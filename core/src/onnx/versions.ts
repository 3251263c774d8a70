// The ONNX versions every model Kestrel builds is written with (the TF.js importer, the trainer's
// export, the quantizer's own graphs), kept in one place so the builders cannot drift apart.

/** Default-domain opset: the first with per-axis QuantizeLinear/DequantizeLinear, which INT8 QDQ needs. */
export const OPSET = 13;
/** IR 8 is the newest the onnx-proto binding knows, and opset 13 needs no more. */
export const IR_VERSION = 8;
