// `kestrel deploy ...` release commands as their own process, until the CLI wires them in.
import { Command } from 'commander';
import { registerDeployReleaseCommands } from '@kestrel/deploy/release/commands';

const program = new Command('kestrel');
registerDeployReleaseCommands(program.command('deploy'));
await program.parseAsync(process.argv);
