import { restored, type Logger, type OutgoingMessage } from '@kestrel/core';
import type { Outbox } from './outbox.js';
import type { MqttLink } from './mqtt-link.js';

/**
 * Drains the outbox into MQTT in order, a window of events in flight at a time, deleting each
 * only after its PUBACK. After a reconnect it starts again from the oldest unacknowledged event
 * (duplicates are possible, losses are not).
 *
 * The outbox keeps topic and bytes only, and holds events and the clip notices that follow them:
 * every send, the first and any replay after an outage or a restart, takes its kind's QoS and
 * retain flag from the table (the kind is the topic's last level).
 */
export class EventPublisher {
  private cursor = 0;
  private inFlight = 0;
  private generation = 0;
  private pumping = false;
  published = 0;

  constructor(
    private readonly outbox: Outbox,
    private readonly link: MqttLink,
    private readonly logger: Logger,
    private readonly window = 32,
  ) {}

  start(): void {
    this.link.on('connected', this.onConnected);
    this.link.on('disconnected', this.onDisconnected);
    if (this.link.connected) this.onConnected();
  }

  stop(): void {
    this.link.off('connected', this.onConnected);
    this.link.off('disconnected', this.onDisconnected);
  }

  /** Accepts an event (or a clip notice): durable first, then published when the broker is there. */
  enqueue(message: OutgoingMessage<OutboxKind>): void {
    this.outbox.add(message.topic, Buffer.from(message.payload));
    this.pump();
  }

  /** Waits until the outbox is empty or the time is up (shutdown flush). */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.outbox.depth > 0 && Date.now() < deadline) {
      if (!this.link.connected) return false;
      this.pump();
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.outbox.depth === 0;
  }

  private readonly onConnected = (): void => {
    this.generation++;
    this.cursor = 0;
    this.inFlight = 0;
    this.pump();
  };

  private readonly onDisconnected = (): void => {
    this.generation++;
    this.inFlight = 0;
  };

  private pump(): void {
    if (this.pumping || !this.link.connected) return;
    this.pumping = true;
    try {
      while (this.inFlight < this.window && this.link.connected) {
        const rows = this.outbox.after(this.cursor, this.window - this.inFlight);
        if (rows.length === 0) break;
        const generation = this.generation;
        for (const row of rows) {
          this.cursor = row.seq;
          this.inFlight++;
          this.link.publishAcked(restored(outboxKind(row.topic), row.topic, row.payload)).then(
            () => {
              this.outbox.ack(row.seq, row.payload.length);
              this.published++;
              if (generation === this.generation) {
                this.inFlight--;
                this.pump();
              }
            },
            (err: Error) => {
              // The connection went away: onConnected restarts from the oldest unacked event.
              if (generation === this.generation) this.inFlight--;
              this.logger.debug({ err: err.message, seq: row.seq }, 'event publish not acknowledged');
            },
          );
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}

/** The kinds the outbox carries. */
export type OutboxKind = 'events' | 'clip';

/** `<prefix>/<device>/<camera>/clip` or `…/events`: the last level names the kind (topics.ts). */
function outboxKind(topic: string): OutboxKind {
  return topic.endsWith('/clip') ? 'clip' : 'events';
}
