import type { Command } from 'commander';
import { KestrelError, action, printJson, writeModel, readMetadata, COCO_LABELS, type KestrelMetadata } from '@kestrel/core';
import { metadataOverrides, type ModelFlags } from '../model-options.js';

interface ImportFlags extends Pick<ModelFlags, 'decoder' | 'labels' | 'labelsFile' | 'imgsz'> {
  out: string;
  preset?: string;
  coco?: boolean;
  json?: boolean;
}

export function registerImportCommands(program: Command): void {
  const imp = program.command('import').description('convert models from other formats into Kestrel ONNX');
  imp
    .command('tfjs')
    .description('convert a TensorFlow.js graph model (model.json + weight shards) to ONNX with Kestrel metadata')
    .argument('<model.json>', 'the TF.js graph model')
    .requiredOption('-o, --out <model.onnx>', 'output ONNX file')
    .option('--preset <name>', 'metadata preset: nanodet (the NanoDet COCO detector)')
    .option('--decoder <name>', 'decoder for the output: yolov8|nanodet|kestrel')
    .option('--labels <list>', 'class names, comma separated')
    .option('--labels-file <path>', 'class names, one per line')
    .option('--coco', 'the 80 COCO class names')
    .option('--imgsz <size>', 'input size, N or WxH')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (modelJson: string, flags: ImportFlags) => {
      // Loaded only when this command runs: no other command pays for the importer.
      const { importTfjsGraphModel, nanodetImportOptions } = await import('@kestrel/importer');
      let metadata: KestrelMetadata | undefined;
      // The preset also names the input and outputs the way the nanodet decoder reads them.
      let names: { inputName?: string; outputNames?: Record<string, string> } = {};
      if (flags.preset) {
        if (flags.preset !== 'nanodet') throw new KestrelError('E_USAGE', `unknown --preset "${flags.preset}" (known: nanodet)`);
        const preset = nanodetImportOptions();
        metadata = preset.metadata;
        names = { inputName: preset.inputName, outputNames: preset.outputNames };
      }
      const overrides = metadataOverrides(flags);
      if (flags.coco) overrides.labels = [...COCO_LABELS];
      if (metadata) metadata = { ...metadata, ...overrides, input: { ...metadata.input, ...overrides.input } };
      else if (overrides.decoder && overrides.labels && overrides.input) metadata = overrides as KestrelMetadata;
      const model = await importTfjsGraphModel(modelJson, { ...names, metadata });
      await writeModel(model, flags.out);
      const nodes = model.graph?.node?.length ?? 0;
      const meta = metadata ? readMetadata(model) : undefined;
      if (flags.json) printJson({ ok: true, input: modelJson, output: flags.out, nodes, metadata: meta ?? null });
      else process.stderr.write(`wrote ${flags.out}: ${nodes} nodes${meta ? `, decoder ${meta.decoder}, ${meta.labels.length} labels` : ' (no Kestrel metadata: give --preset or --decoder/--labels/--imgsz)'}\n`);
    }));
}
