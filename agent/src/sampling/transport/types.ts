import type { BufferedSample } from '../types.js';

/** A buffered sample with its JPEG, ready to leave the device. */
export interface OutgoingSample {
  record: BufferedSample;
  jpeg: Buffer;
}

/**
 * Per sample, what the receiver said. `stored` and `duplicate` both confirm the sample (a resend
 * after a lost answer is a duplicate): it may leave the buffer. `rejected` is final.
 */
export type SendOutcome = { id: string; status: 'stored' | 'duplicate' } | { id: string; status: 'rejected'; error: string };

/**
 * Why a whole send failed:
 * - `retry`: the receiver is away or failing (network, timeout, 5xx): same batch later, with backoff;
 * - `auth`: the token was refused (401/403): a configuration problem, retried slowly;
 * - `refused`: the batch itself was refused (400, 413): a single sample is rejected, a larger
 *   batch is split to find the culprit.
 */
export type TransportFailure = 'retry' | 'auth' | 'refused';

export class TransportError extends Error {
  constructor(
    readonly failure: TransportFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

/** How samples leave the device: HTTP to the hub, or MQTT. */
export interface SampleTransport {
  readonly name: 'http' | 'mqtt';
  /** Sends a batch; resolves with one outcome per sample, or throws a TransportError. */
  send(samples: readonly OutgoingSample[]): Promise<SendOutcome[]>;
  close?(): Promise<void>;
}
