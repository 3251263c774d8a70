import { outgoing, topics, type DeviceTopics, type OutgoingMessage } from '@kestrel/core';
import { toSamplePayload } from './payload.js';
import { TransportError, type OutgoingSample, type SampleTransport, type SendOutcome } from './types.js';

/** A publish that resolves on the broker's PUBACK (MqttLink.publishAcked; samples are QoS 1 in the table). */
export type PublishAcked = (message: OutgoingMessage<'samples'>) => Promise<void>;

/**
 * Samples as QoS 1 messages on `<prefix>/<device>/samples`, for small deployments without an
 * HTTP path to the hub. The confirmation is the broker's PUBACK, not the hub's: the hub
 * subscribes with a persistent session so the broker queues samples while it is away, but a
 * broker that loses its queue loses them. Use HTTP where every sample matters.
 */
export class MqttTransport implements SampleTransport {
  readonly name = 'mqtt' as const;
  private readonly topics: DeviceTopics;

  constructor(
    private readonly options: { prefix: string; deviceId: string; publish: PublishAcked },
  ) {
    this.topics = topics(options.prefix, options.deviceId);
  }

  async send(samples: readonly OutgoingSample[]): Promise<SendOutcome[]> {
    const outcomes: SendOutcome[] = [];
    for (const sample of samples) {
      const message = outgoing(this.topics, 'samples', toSamplePayload(this.options.deviceId, sample));
      try {
        await this.options.publish(message);
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
