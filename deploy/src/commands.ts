import type { Command } from 'commander';
import { registerHubCommands } from './cli/hub-commands.js';
import { registerDeployReleaseCommands } from './release/commands.js';

/**
 * The deploy part's commands, loaded by the CLI for `kestrel hub ...` and `kestrel deploy ...`. Heavy modules load inside the actions.
 */
export function registerDeployCommands(program: Command): void {
  registerHubCommands(program);
  registerDeployReleaseCommands(program.command('deploy').description('signed model releases and staged rollouts to the fleet'));
}
