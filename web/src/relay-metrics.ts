/** The relay's Prometheus metrics, on a registry of its own (served at GET /metrics). */
import { Counter, Gauge, Registry } from 'prom-client';

export class RelayMetrics {
  readonly registry = new Registry();
  readonly framesReceived = new Counter({ name: 'camqtt_web_frames_received_total', help: 'Frame messages received from MQTT.', registers: [this.registry] });
  readonly framesRejected = new Counter({ name: 'camqtt_web_frames_rejected_total', help: 'Frame messages not relayed because the payload is not a complete JPEG.', registers: [this.registry] });
  readonly framesSent = new Counter({ name: 'camqtt_web_frames_sent_total', help: 'Frames handed to a viewer socket (one per viewer).', registers: [this.registry] });
  readonly framesDropped = new Counter({ name: 'camqtt_web_frames_dropped_total', help: 'Frames a viewer never got because its socket had not taken the previous one (newest wins).', registers: [this.registry] });
  readonly viewersTerminated = new Counter({ name: 'camqtt_web_viewers_terminated_total', help: 'Viewers disconnected because their socket stayed blocked or stopped answering pings.', registers: [this.registry] });
  readonly viewers = new Gauge({ name: 'camqtt_web_viewers', help: 'Connected viewers.', registers: [this.registry] });
  readonly cameras = new Gauge({ name: 'camqtt_web_cameras', help: 'Cameras with a retained status.', registers: [this.registry] });
}
