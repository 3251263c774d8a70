import type { Command } from 'commander';
import { KestrelError, action, isKestrelError } from '@kestrel/core';
import { SYSTEM_UNIT_DIR, planInstall, planUninstall, type InstallOptions, type Plan } from '../service/install.js';

/** The install's options as commander parses them, plus --dry-run. */
type InstallFlags = InstallOptions & { dryRun?: boolean };

export function registerServiceCommands(program: Command): void {
  const service = program.command('service').description('run the agent as a systemd service of this install (install, uninstall)');

  service
    .command('install')
    .description(`write ${SYSTEM_UNIT_DIR}/kestrel-agent.service for this install (its node and kestrel, by absolute path), create the user, enable and start it`)
    .option('--config <file>', "the agent's config", '/etc/kestrel/agent.yaml')
    .option('--state-dir <dir>', 'state folder (outbox, samples, models); under /var/lib systemd makes it', '/var/lib/kestrel')
    .option('--user <name>', 'the account it runs as (a system user, made when missing); root only when named', 'kestrel')
    .option('--no-create-user', 'fail instead of creating a missing user')
    .option('--unit-dir <dir>', `write the unit here instead of ${SYSTEM_UNIT_DIR}, and run no systemctl (images, tests)`)
    .option('--no-enable', 'write the unit only: no systemctl daemon-reload / enable')
    .option('--no-start', 'enable it without starting it now')
    .option('--dry-run', 'print the unit on stdout and each step on stderr, and change nothing')
    .addHelpText(
      'after',
      '\nThe unit is systemd/kestrel-agent.service as shipped (watchdog, restart policy, sandboxing), with ExecStart, User, ' +
        'the state folder and the config path of this install. Run it again after moving or upgrading node or kestrel. ' +
        'Without a config file yet, the service is enabled but not started.',
    )
    .action(action(async (flags: InstallFlags) => {
      const plan = planInstall({
        config: flags.config,
        stateDir: flags.stateDir,
        user: flags.user,
        unitDir: flags.unitDir,
        createUser: flags.createUser,
        enable: flags.enable,
        start: flags.start,
      });
      if (flags.dryRun) process.stdout.write(plan.unit.endsWith('\n') ? plan.unit : `${plan.unit}\n`);
      carryOut(plan, Boolean(flags.dryRun));
    }));

  service
    .command('uninstall')
    .description('stop, disable and remove kestrel-agent.service (the user, config and state folder stay)')
    .option('--unit-dir <dir>', `remove it from here instead of ${SYSTEM_UNIT_DIR}, and run no systemctl`)
    .option('--dry-run', 'print each step on stderr and change nothing')
    .action(action(async (flags: { unitDir?: string; dryRun?: boolean }) => {
      carryOut(planUninstall({ unitDir: flags.unitDir }), Boolean(flags.dryRun));
    }));
}

/** Each step is said on stderr as it is done (stdout stays the unit for --dry-run > file). */
function carryOut(plan: Plan, dryRun: boolean): void {
  for (const step of plan.steps) {
    process.stderr.write(`${dryRun ? 'would ' : ''}${step.say}\n`);
    if (dryRun) continue;
    try {
      step.run();
    } catch (err) {
      if (isKestrelError(err)) throw err;
      const e = err as NodeJS.ErrnoException;
      const hint = e.code === 'EACCES' || e.code === 'EPERM' ? ' (installing a service needs root: run it with sudo)' : '';
      throw new KestrelError('E_INSTALL', `${step.say}: ${e.message}${hint}`);
    }
  }
  for (const note of plan.notes) process.stderr.write(`note: ${note}\n`);
}
