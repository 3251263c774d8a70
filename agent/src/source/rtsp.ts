import { redactUrl } from '@kestrel/core/util/log';
import { atLeast, type FfmpegInput } from './ffmpeg-args.js';

/**
 * An RTSP camera: the config's `source` (checked there: URL shape, transport), plus tuning that
 * only code sets.
 */
export interface RtspInputOptions {
  /** `rtsp://[user:pass@]host[:port]/path` (or `rtsps://`). */
  url: string;
  /** RTP over the RTSP TCP connection (default: works through NAT and firewalls) or UDP. */
  transport?: 'tcp' | 'udp';
  /**
   * ffmpeg's own socket timeout, seconds. Default 10. A backstop only: the source's watchdog
   * (connect timeout, stall) is what restarts a silent camera.
   */
  socketTimeoutSeconds?: number;
  /**
   * How long ffmpeg may study the stream before the first frame, seconds. Default 1: cameras
   * describe their H.264 stream in the SDP, and ffmpeg's default (up to 5 s) made a reconnect
   * take 2.7 s instead of 1.5 s here.
   */
  probeSeconds?: number;
  /** Extra ffmpeg input options, placed before `-i` (advanced: `-threads 1`, ...). */
  extraInputArgs?: string[];
}

export function rtspInput(options: RtspInputOptions): FfmpegInput {
  const { url, transport = 'tcp', socketTimeoutSeconds = 10, probeSeconds = 1, extraInputArgs = [] } = options;
  const timeoutUs = String(Math.round(socketTimeoutSeconds * 1e6));
  return {
    type: 'rtsp',
    description: redactUrl(url),
    finite: false,
    args: (caps) => [
      '-rtsp_transport', transport,
      // ffmpeg 4.x called the socket timeout -stimeout; there -timeout means "listen".
      atLeast(caps, 5) ? '-timeout' : '-stimeout', timeoutUs,
      // Video only: no audio RTP session to set up, no audio bandwidth.
      '-allowed_media_types', 'video',
      // Low latency: no input buffering while probing, decoder without frame delay.
      '-fflags', 'nobuffer', '-flags', 'low_delay',
      '-analyzeduration', String(Math.round(probeSeconds * 1e6)),
      ...extraInputArgs,
      '-i', url,
    ],
  };
}
