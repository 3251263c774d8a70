// The two TF.js layers a rebuilt ONNX network needs that tf.layers lacks in the right form:
// max pooling with ONNX's symmetric padding (tf.layers' 'same' puts a stride-2 pool's odd pixel
// at the end, which moves every later feature by one cell), and a bilinear resize with
// half-pixel centres (what ONNX Resize half_pixel and PyTorch's align_corners=False compute;
// tf.layers.upSampling2d uses TF's legacy corner alignment). Both are registered for
// serialisation so checkpoints stay ordinary LayersModel artifacts.
import * as tf from '@tensorflow/tfjs';

export class SymmetricMaxPool extends tf.layers.Layer {
  static className = 'KestrelSymmetricMaxPool';
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;

  constructor(args: { name: string; kernel: number; stride: number; pad: number }) {
    super({ name: args.name });
    this.kernel = args.kernel;
    this.stride = args.stride;
    this.pad = args.pad;
  }

  override computeOutputShape(shape: tf.Shape): tf.Shape {
    const out = (n: number | null) => (n === null ? null : Math.floor((n + 2 * this.pad - this.kernel) / this.stride) + 1);
    return [shape[0], out(shape[1]), out(shape[2]), shape[3]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    // A numeric pad is explicit symmetric padding; padded cells are excluded from the max.
    return tf.maxPool(x, this.kernel, this.stride, this.pad);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kernel: this.kernel, stride: this.stride, pad: this.pad };
  }
}

export class HalfPixelResize extends tf.layers.Layer {
  static className = 'KestrelHalfPixelResize';
  readonly factor: number;

  constructor(args: { name: string; factor: number }) {
    super({ name: args.name });
    this.factor = args.factor;
  }

  override computeOutputShape(shape: tf.Shape): tf.Shape {
    return [shape[0], resizedSize(shape[1], this.factor), resizedSize(shape[2], this.factor), shape[3]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const [, h, w] = x.shape;
    return tf.image.resizeBilinear(x, [resizedSize(h, this.factor)!, resizedSize(w, this.factor)!], false, true);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), factor: this.factor };
  }
}

/** The output side of a resize; a factor that does not give a whole number of cells is a config error caught before building. */
export function resizedSize(n: number | null, factor: number): number | null {
  return n === null ? null : Math.round(n * factor);
}

tf.serialization.registerClass(SymmetricMaxPool as never);
tf.serialization.registerClass(HalfPixelResize as never);
