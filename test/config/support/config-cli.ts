// The `kestrel config ...` commands on a bare commander program, as the CLI registers them.
import { Command } from 'commander';
import { registerConfigCommands } from '@kestrel/config';

const program = new Command('kestrel');
registerConfigCommands(program);
await program.parseAsync(process.argv);
