// im2col / col2im on NHWC float32 arrays: the bridge that turns convolution gradients into one
// large matrix product, which the wasm backend (XNNPACK) runs fast, instead of the slow nested
// loops it would otherwise need.

/** The numbers of a 2-D convolution that the copies need (tfjs Conv2DInfo has them all). */
export interface ConvGeometry {
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

/**
 * Writes the patches of images [b0, b1) of `x` (NHWC) into `cols`, one row per output position
 * (row-major over b, oh, ow) and columns ordered (kh, kw, c) — the memory order of a
 * [kh, kw, cin, cout] filter, so `cols · filter` is the convolution. Outside the image: zeros.
 */
export function im2col(x: Float32Array, g: ConvGeometry, b0: number, b1: number, cols: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW } = g;
  let o = 0;
  for (let b = b0; b < b1; b++) {
    const imageBase = b * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const ihBase = oh * g.strideHeight - g.padTop;
      for (let ow = 0; ow < OW; ow++) {
        const iwBase = ow * g.strideWidth - g.padLeft;
        for (let kh = 0; kh < FH; kh++) {
          const ih = ihBase + kh * g.dilationHeight;
          const rowInside = ih >= 0 && ih < H;
          for (let kw = 0; kw < FW; kw++) {
            const iw = iwBase + kw * g.dilationWidth;
            // Plain indexed loops: subarray()/set() per patch allocate, and cost 10-30x more here.
            if (!rowInside || iw < 0 || iw >= W) {
              for (let c = 0; c < C; c++) cols[o + c] = 0;
            } else {
              const s = imageBase + (ih * W + iw) * C;
              for (let c = 0; c < C; c++) cols[o + c] = x[s + c];
            }
            o += C;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: adds every patch row of `cols` back into images [b0, b1) of `dx`. */
export function col2im(cols: Float32Array, g: ConvGeometry, b0: number, b1: number, dx: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW } = g;
  let o = 0;
  for (let b = b0; b < b1; b++) {
    const imageBase = b * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const ihBase = oh * g.strideHeight - g.padTop;
      for (let ow = 0; ow < OW; ow++) {
        const iwBase = ow * g.strideWidth - g.padLeft;
        for (let kh = 0; kh < FH; kh++) {
          const ih = ihBase + kh * g.dilationHeight;
          const rowInside = ih >= 0 && ih < H;
          for (let kw = 0; kw < FW; kw++) {
            const iw = iwBase + kw * g.dilationWidth;
            if (rowInside && iw >= 0 && iw < W) {
              const d = imageBase + (ih * W + iw) * C;
              for (let c = 0; c < C; c++) dx[d + c] += cols[o + c];
            }
            o += C;
          }
        }
      }
    }
  }
}

/**
 * The transposed patch matrix: `colsT[(kh, kw, c)][(b, oh, ow)]` for images [b0, b1), read from
 * a channel-major copy of the input (`xT` is [C, B, H, W]) so each output row is written in one
 * contiguous sweep. Used as the left operand of dW = colsT · dy: XNNPACK repacks the right
 * operand on every call, so the right one must be the small one (dy), not the patches.
 */
export function im2colTransposed(xT: Float32Array, batch: number, g: ConvGeometry, b0: number, b1: number, colsT: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW } = g;
  const rows = (b1 - b0) * OH * OW;
  for (let kh = 0; kh < FH; kh++) {
    for (let kw = 0; kw < FW; kw++) {
      const colOffset = kw * g.dilationWidth - g.padLeft;
      // Output columns whose input column lies inside the image: [owLo, owHi).
      const owLo = Math.min(OW, Math.max(0, Math.ceil(-colOffset / g.strideWidth)));
      const owHi = Math.max(owLo, Math.min(OW, Math.floor((W - 1 - colOffset) / g.strideWidth) + 1));
      for (let c = 0; c < C; c++) {
        let o = ((kh * FW + kw) * C + c) * rows;
        for (let b = b0; b < b1; b++) {
          const plane = (c * batch + b) * H;
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * g.strideHeight - g.padTop + kh * g.dilationHeight;
            if (ih < 0 || ih >= H) {
              for (let ow = 0; ow < OW; ow++) colsT[o + ow] = 0;
            } else {
              const src = (plane + ih) * W + colOffset;
              for (let ow = 0; ow < owLo; ow++) colsT[o + ow] = 0;
              for (let ow = owLo; ow < owHi; ow++) colsT[o + ow] = xT[src + ow * g.strideWidth];
              for (let ow = owHi; ow < OW; ow++) colsT[o + ow] = 0;
            }
            o += OW;
          }
        }
      }
    }
  }
}
