import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { createRunDir, type Detection } from '@kestrel/core';

export interface OutputOptions {
  /** An exact folder (`--out`): used as it is, files in it may be replaced. */
  out?: string;
  project: string;
  name: string;
  existOk: boolean;
  saveImages: boolean;
  saveTxt: boolean;
  saveConf: boolean;
}

/**
 * Where one `kestrel detect` run writes: `runs/detect/predict`, `predict2`, ... (createRunDir),
 * annotated images at its top, YOLO labels in labels/, predictions.json. Names are kept apart
 * within a run: two inputs called frame.jpg in different folders become frame.jpg and frame_2.jpg,
 * not one overwriting the other.
 */
export class PredictOutputs {
  readonly dir: string | undefined;
  private readonly taken = new Set<string>();

  constructor(private readonly options: OutputOptions) {
    if (!options.saveImages && !options.saveTxt) return;
    if (options.out) {
      this.dir = resolve(options.out);
      mkdirSync(this.dir, { recursive: true });
    } else this.dir = createRunDir(options.project, options.name, options.existOk);
    if (options.saveTxt) mkdirSync(join(this.dir, 'labels'), { recursive: true });
  }

  /** A stem for an input, unique in this run. */
  stemFor(source: string): string {
    const base = streamStem(source) ?? basename(source, extname(source));
    let stem = base || 'source';
    for (let k = 2; this.taken.has(stem); k++) stem = `${base}_${k}`;
    this.taken.add(stem);
    return stem;
  }

  /** Writes what was asked for one picture; returns the annotated image's path, if written. */
  write(stem: string, width: number, height: number, detections: readonly Detection[], jpeg: () => Promise<Buffer>): Promise<string | undefined> {
    if (!this.dir) return Promise.resolve(undefined);
    if (this.options.saveTxt && detections.length > 0) {
      // Ultralytics writes no file for a picture without detections.
      writeFileSync(join(this.dir, 'labels', `${stem}.txt`), yoloLabelLines(detections, width, height, this.options.saveConf));
    }
    if (!this.options.saveImages) return Promise.resolve(undefined);
    const path = join(this.dir, `${stem}.jpg`);
    return jpeg().then((bytes) => {
      writeFileSync(path, bytes);
      return path;
    });
  }

  writeSummary(summary: unknown): string | undefined {
    if (!this.dir) return undefined;
    const path = join(this.dir, 'predictions.json');
    writeFileSync(path, `${JSON.stringify(summary, null, 2)}\n`);
    return path;
  }
}

/**
 * YOLO txt, as `yolo predict save_txt=True` writes it: `class cx cy w h` normalised to 0..1 by
 * the image's size (the format of a dataset's labels, so predictions can become training data),
 * plus the score with `conf`. Six significant digits, like Ultralytics' `%g`.
 */
export function yoloLabelLines(detections: readonly Detection[], width: number, height: number, conf = false): string {
  const g = (v: number) => String(Number(v.toPrecision(6)));
  return detections
    .map((d) => {
      const [x1, y1, x2, y2] = d.box;
      const fields = [String(d.classId), g((x1 + x2) / 2 / width), g((y1 + y2) / 2 / height), g((x2 - x1) / width), g((y2 - y1) / height)];
      if (conf) fields.push(g(d.score));
      return `${fields.join(' ')}\n`;
    })
    .join('');
}

/** rtsp://cam.local:554/live/main → main: a stream's files are named after its last path part (or host). */
function streamStem(source: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return undefined;
  try {
    const url = new URL(source);
    const last = url.pathname.split('/').filter(Boolean).pop();
    const name = last ? basename(last, extname(last)) : url.hostname;
    return name.replace(/[^\w.-]+/g, '_') || 'stream';
  } catch {
    return 'stream';
  }
}
