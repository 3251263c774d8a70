// A `kestrel` with only the trainer's commands, for tests that run commands the way a user does
// (own process, real stdout/stderr, real exit code).
import { Command } from 'commander';
import { registerTrainerCommands } from '@kestrel/trainer/commands';

const program = new Command('kestrel').enablePositionalOptions();
registerTrainerCommands(program);
await program.parseAsync(process.argv);
