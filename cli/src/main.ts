import { Command } from 'commander';
import { KESTREL_VERSION } from '@kestrel/core';
import { registerDetectCommand } from './commands/detect.js';
import { registerImportCommands } from './commands/import.js';
import { registerServiceCommands } from './commands/service.js';

/**
 * Each part registers its own commands. A part is imported only when one of its commands runs
 * (or for --help), so `kestrel agent` never loads TensorFlow.js, and a device that installed
 * only the agent gets a clear message for the commands it lacks.
 */
interface Part {
  pkg: string;
  entry: string;
  register: string;
  commands: string[];
}

const PARTS: Part[] = [
  { pkg: '@kestrel/config', entry: '@kestrel/config/commands', register: 'registerConfigCommands', commands: ['config'] },
  { pkg: '@kestrel/agent', entry: '@kestrel/agent/commands', register: 'registerAgentCommands', commands: ['agent', 'bench'] },
  { pkg: '@kestrel/trainer', entry: '@kestrel/trainer/commands', register: 'registerTrainerCommands', commands: ['dataset', 'train', 'eval', 'export', 'distill'] },
  { pkg: '@kestrel/quantize', entry: '@kestrel/quantize/commands', register: 'registerQuantizeCommands', commands: ['quantize'] },
  { pkg: '@kestrel/deploy', entry: '@kestrel/deploy/commands', register: 'registerDeployCommands', commands: ['hub', 'deploy'] },
];

async function registerPart(program: Command, part: Part): Promise<void> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(part.entry)) as Record<string, unknown>;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const missing = e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED';
    if (!missing) throw err;
    const why = e.message.split('\n')[0];
    for (const name of part.commands) {
      program
        .command(name, { hidden: false })
        .description(`(not installed: npm install ${part.pkg})`)
        .allowUnknownOption()
        .allowExcessArguments()
        .action(() => {
          process.stderr.write(`kestrel: "${name}" comes with ${part.pkg}, which is not installed here (${why}). Install it with: npm install ${part.pkg}\n`);
          process.exitCode = 2;
        });
    }
    return;
  }
  const register = mod[part.register];
  if (typeof register !== 'function') throw new Error(`${part.entry} does not export ${part.register}`);
  await (register as (p: Command) => void | Promise<void>)(program);
}

export async function runCli(argv: string[]): Promise<void> {
  const program = new Command('kestrel')
    .version(KESTREL_VERSION, '-V, --version')
    .description('Kestrel: object detection on edge cameras, and a fleet that keeps improving')
    .showHelpAfterError()
    .enablePositionalOptions();
  registerDetectCommand(program);
  registerImportCommands(program);
  registerServiceCommands(program);
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  const owner = PARTS.find((p) => first !== undefined && p.commands.includes(first));
  for (const part of owner ? [owner] : PARTS) await registerPart(program, part);
  await program.parseAsync(argv);
}
