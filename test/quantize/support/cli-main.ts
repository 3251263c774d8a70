// A minimal `kestrel` with only the quantize command registered, as the CLI package does it.
import { Command } from 'commander';
import { registerQuantizeCommands } from '@kestrel/quantize';

const program = new Command('kestrel');
registerQuantizeCommands(program);
await program.parseAsync(process.argv);
