// The trainer's commands for the `kestrel` CLI: dataset import|stats|synth|split|show, train,
// eval, export, distill, tune, prune. Each reporting command takes --json (one JSON document on stdout; logs
// go to stderr).
import type { Command } from 'commander';
import { registerDatasetCommands } from './cli/dataset-commands.js';
import { registerModelCommands } from './cli/model-commands.js';
import { registerTuneCommands } from './cli/tune-commands.js';
import { registerPruneCommands } from './cli/prune-commands.js';

export function registerTrainerCommands(program: Command): void {
  registerDatasetCommands(program);
  registerModelCommands(program);
  registerTuneCommands(program);
  registerPruneCommands(program);
}
