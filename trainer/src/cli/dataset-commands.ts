import type { Command } from 'commander';
import { KestrelError } from '@kestrel/core/util/errors';
import { importDataset, type ImportFormat } from '../data/import.js';
import { loadDataset, readManifest, writeManifest, MANIFEST_FILE } from '../data/dataset.js';
import { datasetStats, formatStats } from '../data/stats.js';
import { synthFactoryDataset } from '../data/synth/factory.js';
import { splitDataset } from '../data/split.js';
import { showAugmented } from '../data/show.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SplitName } from '../data/types.js';
import { action, printJson } from '@kestrel/core/util/cli';
import { int, list, num } from './flags.js';

export function registerDatasetCommands(program: Command): void {
  const dataset = program.command('dataset').description('import, inspect, split, synthesise and preview labelled datasets');

  dataset
    .command('import')
    .description('import YOLO/Ultralytics folders or COCO JSON into Kestrel format (YOLO txt + dataset.json)')
    .argument('<sources...>', 'a YOLO folder, or COCO JSON files (names with train/val/test set the splits)')
    .requiredOption('-o, --out <dir>', 'destination folder (must not hold a dataset)')
    .option('--format <f>', 'yolo | coco (default: guessed from the sources)')
    .option('--images <dir>', 'COCO: folder that file_name entries are relative to')
    .option('--name <name>', 'dataset name')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (sources: string[], f: { out: string; format?: string; images?: string; name?: string; json?: boolean }) => {
      if (f.format && f.format !== 'yolo' && f.format !== 'coco') throw new KestrelError('E_USAGE', `--format must be yolo or coco, got "${f.format}"`);
      const r = await importDataset(sources, f.out, { format: f.format as ImportFormat | undefined, images: f.images, name: f.name });
      if (f.json) printJson(r);
      else process.stdout.write(`imported ${r.images} images, ${r.boxes} boxes, ${r.classes.length} classes (${r.format}) into ${r.dest}\n${Object.entries(r.skipped).map(([k, v]) => `skipped ${v}: ${k}\n`).join('')}`);
    }));

  dataset
    .command('stats')
    .description('images, boxes per class, box sizes, class imbalance, duplicates, boxes outside the image')
    .argument('<dir>', 'dataset folder')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (dir: string, f: { json?: boolean }) => {
      const s = await datasetStats(loadDataset(dir));
      if (f.json) printJson(s);
      else process.stdout.write(formatStats(s) + '\n');
    }));

  dataset
    .command('synth')
    .description('make the synthetic factory-line set: parts on a moving belt with scratches, dents, discoloration, missing holes')
    .argument('<dir>', 'output folder')
    .option('--count <n>', 'images', '300')
    .option('--seed <n>', 'random seed (same seed, same images)', '0')
    .option('--size <px>', 'square image size', '320')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (dir: string, f: { count: string; seed: string; size: string; json?: boolean }) => {
      const r = await synthFactoryDataset(dir, { count: int(f.count, '--count'), seed: num(f.seed, '--seed', Number.isInteger, 'an integer'), size: int(f.size, '--size') });
      if (f.json) printJson(r);
      else process.stdout.write(`wrote ${r.count} images with ${r.boxes} boxes to ${r.dir}\n`);
    }));

  dataset
    .command('split')
    .description('assign train/val/test splits reproducibly by seed (written to dataset.json)')
    .argument('<dir>', 'Kestrel dataset folder')
    .option('--ratios <t,v,s>', 'train,val,test fractions', '0.8,0.1,0.1')
    .option('--seed <n>', 'random seed', '0')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (dir: string, f: { ratios: string; seed: string; json?: boolean }) => {
      if (!existsSync(join(dir, MANIFEST_FILE))) throw new KestrelError('E_DATASET_FORMAT', `${dir} has no ${MANIFEST_FILE}; import it first with "kestrel dataset import"`);
      const ratios = (list(f.ratios) ?? []).map((r) => num(r, '--ratios')!);
      if (ratios.length !== 3) throw new KestrelError('E_USAGE', `--ratios needs three numbers train,val,test, got "${f.ratios}"`);
      const splits = splitDataset(loadDataset(dir), { ratios: ratios as [number, number, number], seed: num(f.seed, '--seed', Number.isInteger, 'an integer') });
      writeManifest(dir, { ...readManifest(dir), splits });
      const counts = { train: splits.train.length, val: splits.val.length, test: splits.test.length };
      if (f.json) printJson({ dir, seed: Number(f.seed), ratios, ...counts });
      else process.stdout.write(`train ${counts.train}, val ${counts.val}, test ${counts.test}\n`);
    }));

  dataset
    .command('show')
    .description('write a grid of augmented training samples with their boxes (PNG)')
    .argument('<dir>', 'dataset folder')
    .option('-o, --out <file>', 'PNG to write', 'augmented.png')
    .option('--count <n>', 'samples', '16')
    .option('--imgsz <px>', 'training size', '320')
    .option('--split <s>', 'train | val | test', 'train')
    .option('--seed <n>', 'random seed', '0')
    .option('--no-augment', 'show the letterboxed images without augmentation')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (dir: string, f: { out: string; count: string; imgsz: string; split: string; seed: string; augment: boolean; json?: boolean }) => {
      if (!['train', 'val', 'test'].includes(f.split)) throw new KestrelError('E_USAGE', `--split must be train, val or test, got "${f.split}"`);
      const r = await showAugmented(loadDataset(dir), { output: f.out, count: int(f.count, '--count'), imgsz: int(f.imgsz, '--imgsz'), split: f.split as SplitName, seed: Number(f.seed), augment: f.augment });
      if (f.json) printJson(r);
      else process.stdout.write(`wrote ${r.samples} samples (${r.boxes} boxes) to ${r.output}\n`);
    }));
}
