import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { roundBox, type DetectionEvent, type Logger } from '@kestrel/core';
import { NAME_PATTERN } from '@kestrel/config';
import type { OpenTrack } from '../track/events.js';
import { OpenTracksFile } from '../track/open-tracks-file.js';

/** Where a camera's announced tracks are kept between runs. */
export function openTracksPath(stateDir: string, camera: string): string {
  return join(stateDir, 'tracks', `${camera}.json`);
}

export interface RestartEndDeps {
  deviceId: string;
  modelVersion: () => string;
  sink: { event(event: DetectionEvent): void };
  logger: Logger;
}

/**
 * The tracks a camera had open when the agent last died (kill -9, power cut) end now, with reason
 * `restart`: their objects may have left long ago, and a consumer waits for an `end`. The file is
 * then emptied.
 */
export function endTracksLeftOpen(file: OpenTracksFile, camera: string, deps: RestartEndDeps): void {
  const now = Date.now();
  const left = file.read();
  for (const track of left) deps.sink.event(restartEnd(track, camera, Math.max(now, track.lastSeen), deps));
  if (left.length) deps.logger.info({ camera, tracks: left.length }, 'tracks open at the last stop ended (reason restart)');
  file.clear();
}

/**
 * Cameras with a tracks file but not among `running` (removed or disabled since the crash): their
 * open tracks end too, or they would stay open for good.
 */
export function endTracksOfOtherCameras(stateDir: string, running: readonly string[], deps: RestartEndDeps): void {
  let names: string[];
  try {
    names = readdirSync(join(stateDir, 'tracks'));
  } catch {
    return;
  }
  for (const name of names) {
    const camera = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
    if (!NAME_PATTERN.test(camera) || running.includes(camera)) continue;
    endTracksLeftOpen(new OpenTracksFile(openTracksPath(stateDir, camera), camera), camera, deps);
  }
}

function restartEnd(track: OpenTrack, camera: string, frameTime: number, deps: RestartEndDeps): DetectionEvent {
  return {
    schema: 1,
    id: `${track.id}:end:${frameTime}`,
    type: 'end',
    reason: 'restart',
    deviceId: deps.deviceId,
    camera,
    trackId: track.id,
    label: track.label,
    score: Math.round(track.score * 1000) / 1000,
    box: roundBox(track.box),
    zones: track.zones,
    firstSeen: track.firstSeen,
    lastSeen: track.lastSeen,
    frameTime,
    modelVersion: deps.modelVersion(),
  };
}
