import { Command, Option } from 'commander';
import { forgetInitialAdminPassword } from '../identity/initial-admin-password.js';
import { publicUser } from '../identity/users.js';
import { CommandGroup } from './command.js';
import { configOf, withConfigOptions, withRuntime } from './config-options.js';
import { CliError } from './failures.js';
import { readNewPassword } from './password-input.js';
import { formatTable, printJson } from './table.js';

interface PasswordOptions {
  passwordStdin?: boolean;
  password?: unknown;
}

/** Accepted by the parser only so that it can be refused with the reason, instead of "unknown option". */
const argvPasswordTrap = () => new Option('--password <password>').hideHelp();

function refuseArgvPassword(options: PasswordOptions): void {
  if (options.password !== undefined) {
    throw new CliError('passwords are never taken from the command line (shell history, ps); use --password-stdin or the prompt');
  }
}

function passwordCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--password-stdin', 'read the password from stdin (one trailing newline is dropped) instead of prompting')
    .addOption(argvPasswordTrap());
}

const add = withConfigOptions(
  passwordCommand('add', 'create a user; the password is prompted for twice, or read with --password-stdin')
    .argument('<username>', '1-64 characters: letters, digits, and . _ @ -')
    .option('--admin', 'make the user an administrator')
    .action(async (username: string, options: PasswordOptions & { admin?: boolean }, command: Command) => {
      refuseArgvPassword(options);
      const password = await readNewPassword(options);
      const user = await withRuntime(command, (runtime) => runtime.users.create({ username, password, isAdmin: options.admin === true }));
      process.stdout.write(`Created ${user.isAdmin ? 'administrator' : 'user'} ${user.username} (${user.id}).\n`);
    }),
);

const passwd = withConfigOptions(
  passwordCommand('passwd', "set a user's password; signs out their browser sessions")
    .argument('<username>')
    .action(async (username: string, options: PasswordOptions, command: Command) => {
      refuseArgvPassword(options);
      const password = await readNewPassword(options);
      const user = await withRuntime(command, (runtime) => runtime.users.setPassword(username, password));
      if (user.username === 'admin') forgetInitialAdminPassword(configOf(command).dataDir);
      process.stdout.write(`Changed the password of ${user.username}; their browser sessions were signed out.\n`);
    }),
);

const list = withConfigOptions(
  new Command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const users = (await withRuntime(command, (runtime) => runtime.users.list())).map(publicUser);
      if (options.json) return printJson(users);
      process.stdout.write(
        formatTable(
          ['USERNAME', 'ADMIN', 'DISABLED', 'CREATED', 'ID'],
          users.map((u) => [u.username, u.is_admin ? 'yes' : 'no', u.disabled ? 'yes' : 'no', u.created_at, u.id]),
        ),
      );
    }),
);

const disable = withConfigOptions(
  new Command('disable')
    .description('disable a user: they can no longer sign in, their sessions end and their API keys stop working')
    .argument('<username>')
    .action(async (username: string, _options: unknown, command: Command) => {
      const user = await withRuntime(command, (runtime) => runtime.users.disable(username));
      process.stdout.write(`Disabled user ${user.username}; their browser sessions were signed out.\n`);
    }),
);

export function userCommand(): Command {
  return new CommandGroup('user').description('manage users').addCommand(add).addCommand(passwd).addCommand(list).addCommand(disable);
}
