import { outgoing, type DetectionEvent, type DeviceTopics, type FrameDetections, type Logger } from '@kestrel/core';
import type { AgentMetrics } from '../metrics/agent-metrics.js';
import type { CameraSink } from '../pipeline/camera-runtime.js';
import type { EventPublisher } from './event-publisher.js';
import type { MqttLink } from './mqtt-link.js';

/**
 * The end of a frame's way: a camera's typed events go into the durable outbox (through the
 * publisher) and its detections to QoS 0 telemetry, each encoded once, here. The metrics read
 * the typed event, never the bytes.
 */
export class MqttCameraSink implements CameraSink {
  constructor(
    private readonly deps: {
      topics: DeviceTopics;
      publisher: EventPublisher;
      link: MqttLink;
      metrics: AgentMetrics;
      publishDetections: boolean;
      logger: Logger;
      /** Sees every event after it is queued (Home Assistant's open-track counts). */
      onEvent?: (event: DetectionEvent) => void;
    },
  ) {}

  get wantsDetections(): boolean {
    return this.deps.publishDetections;
  }

  event(event: DetectionEvent): void {
    this.deps.publisher.enqueue(outgoing(this.deps.topics, 'events', event));
    this.deps.metrics.events.inc({ camera: event.camera, label: event.label, type: event.type });
    // The agent's own record of every event it accepted (fault tests compare it with what arrived).
    this.deps.logger.debug({ camera: event.camera, id: event.id, type: event.type }, 'event queued');
    this.deps.onEvent?.(event);
  }

  detections(payload: FrameDetections): void {
    this.deps.link.publishIfConnected(outgoing(this.deps.topics, 'detections', payload));
  }
}
