import type { Box } from '@kestrel/core/image/letterbox';

/**
 * Constant-velocity Kalman filter on a box's centre and size, [cx, cy, w, h], the motion model of
 * SORT/ByteTrack. Time is in milliseconds, not frames: cameras drop frames and inference skips
 * them, so the gap between two updates varies.
 *
 * Each of the four quantities is its own (position, velocity) filter: the model's matrices are
 * block-diagonal (no quantity's motion or noise depends on another's value, only on the box
 * height that scales them), so four 2×2 filters are exactly the 8×8 one, and cheaper.
 *
 * Noise scales with the box height, as in ByteTrack: a person near the camera jitters and moves
 * more pixels than one far away.
 */
export class BoxKalman {
  /** Per quantity: position, velocity (px/ms) and the covariance [pp, pv, vv]. */
  private readonly x = new Float64Array(8);
  private readonly P = new Float64Array(12);

  constructor(box: Box) {
    const z = measure(box);
    const h = z[3];
    for (let i = 0; i < 4; i++) {
      this.x[i] = z[i];
      this.x[4 + i] = 0;
      // Position is known to the detector's jitter; velocity is unknown (up to ~a height a second).
      this.P[3 * i] = (2 * MEASUREMENT_STD * h) ** 2;
      this.P[3 * i + 1] = 0;
      this.P[3 * i + 2] = ((INITIAL_VELOCITY_STD * h) / 1000) ** 2;
    }
  }

  /** Moves the state `dtMs` forward (no measurement). */
  predict(dtMs: number): void {
    if (!(dtMs > 0)) return;
    const h = Math.max(1, this.x[3]);
    // White-noise acceleration: q is the acceleration variance, (height/s²)² in px²/ms⁴.
    const q = (ACCELERATION_STD * h) ** 2 / 1e12;
    const dt = dtMs;
    for (let i = 0; i < 4; i++) {
      this.x[i] += this.x[4 + i] * dt;
      const [pp, pv, vv] = [this.P[3 * i], this.P[3 * i + 1], this.P[3 * i + 2]];
      this.P[3 * i] = pp + 2 * dt * pv + dt * dt * vv + (q * dt ** 3) / 3;
      this.P[3 * i + 1] = pv + dt * vv + (q * dt ** 2) / 2;
      this.P[3 * i + 2] = vv + q * dt;
    }
    // A shrinking box must not pass through zero.
    this.x[2] = Math.max(1, this.x[2]);
    this.x[3] = Math.max(1, this.x[3]);
  }

  /** Corrects the state with a measured box. */
  update(box: Box): void {
    const z = measure(box);
    const r = (MEASUREMENT_STD * Math.max(1, z[3])) ** 2;
    for (let i = 0; i < 4; i++) {
      const [pp, pv, vv] = [this.P[3 * i], this.P[3 * i + 1], this.P[3 * i + 2]];
      const s = pp + r;
      const kp = pp / s;
      const kv = pv / s;
      const innovation = z[i] - this.x[i];
      this.x[i] += kp * innovation;
      this.x[4 + i] += kv * innovation;
      this.P[3 * i] = (1 - kp) * pp;
      this.P[3 * i + 1] = (1 - kp) * pv;
      this.P[3 * i + 2] = vv - kv * pv;
    }
  }

  /** The box the state stands for now. */
  box(): Box {
    const [cx, cy, w, h] = this.x;
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
  }

  /** Centre velocity, source pixels per ms. */
  velocity(): [number, number] {
    return [this.x[4], this.x[5]];
  }
}

/** Detector jitter, as a fraction of the box height (ByteTrack's 1/20). */
const MEASUREMENT_STD = 0.05;
/** Velocity not yet measured: up to about one box height a second. */
const INITIAL_VELOCITY_STD = 1;
/** How fast motion changes: a walker starting, stopping or turning, ~one height per second². */
const ACCELERATION_STD = 1;

function measure(b: Box): [number, number, number, number] {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, Math.max(1, b[2] - b[0]), Math.max(1, b[3] - b[1])];
}
