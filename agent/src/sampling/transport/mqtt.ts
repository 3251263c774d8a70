import { encodePayload, topics } from '@kestrel/core';
import { toSamplePayload } from './payload.js';
import { TransportError, type OutgoingSample, type SampleTransport, type SendOutcome } from './types.js';

/** QoS 1 publish that resolves on the broker's PUBACK (MqttLink.publishAcked). */
export type PublishAcked = (topic: string, payload: Buffer) => Promise<void>;

/**
 * Samples as QoS 1 messages on `<prefix>/<device>/samples`, for small deployments without an
 * HTTP path to the hub. The confirmation is the broker's PUBACK, not the hub's: the hub
 * subscribes with a persistent session so the broker queues samples while it is away, but a
 * broker that loses its queue loses them. Use HTTP where every sample matters.
 */
export class MqttTransport implements SampleTransport {
  readonly name = 'mqtt' as const;
  private readonly topic: string;

  constructor(
    private readonly options: { prefix: string; deviceId: string; publish: PublishAcked },
  ) {
    this.topic = topics(options.prefix, options.deviceId).samples;
  }

  async send(samples: readonly OutgoingSample[]): Promise<SendOutcome[]> {
    const outcomes: SendOutcome[] = [];
    for (const sample of samples) {
      const payload = Buffer.from(encodePayload('samples', toSamplePayload(this.options.deviceId, sample)));
      try {
        await this.options.publish(this.topic, payload);
      } catch (err) {
        // Samples already acknowledged in this batch count: report them, retry the rest later.
        if (outcomes.length) return outcomes;
        throw new TransportError('retry', `mqtt publish failed: ${(err as Error).message}`);
      }
      outcomes.push({ id: sample.record.id, status: 'stored' });
    }
    return outcomes;
  }
}
