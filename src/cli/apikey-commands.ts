import { Command } from 'commander';
import { apiKeyView } from '../admin/api-keys.js';
import { CommandGroup } from './command.js';
import { withConfigOptions, withRuntime } from './config-options.js';
import { CliError } from './failures.js';
import { formatTable, printJson } from './table.js';

const create = withConfigOptions(
  new Command('create')
    .description('create an API key for /api; the key is printed once, on stdout')
    .requiredOption('--name <name>', 'what the key is for, e.g. "ci deploy"')
    .option('--user <username>', 'whose key it is', 'admin')
    .action(async (options: { name: string; user: string }, command: Command) => {
      const name = options.name.trim();
      if (name.length === 0 || name.length > 100) throw new CliError('--name must be 1-100 characters');
      const { record, token } = await withRuntime(command, async (runtime) => {
        const user = await runtime.users.find(options.user);
        if (!user) throw new CliError(`no user named ${JSON.stringify(options.user)}; see gatehouse user list`);
        if (user.disabledAt !== null) throw new CliError(`user ${user.username} is disabled`);
        return runtime.apiKeys.create({ user, name });
      });
      // The key alone on stdout, so `KEY=$(gatehouse apikey create …)` captures exactly it.
      process.stdout.write(`${token}\n`);
      process.stderr.write(`Created API key ${record.id} (${JSON.stringify(record.name)}, user ${options.user}). It will not be shown again: store it now.\n`);
    }),
);

const list = withConfigOptions(
  new Command('list')
    .description('list API keys (never the keys themselves)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const views = await withRuntime(command, async (runtime) => {
        const [keys, users] = await Promise.all([runtime.apiKeys.list(), runtime.users.list()]);
        const usernames = new Map(users.map((user) => [user.id, user.username]));
        return keys.map((key) => apiKeyView(key, usernames.get(key.userId) ?? ''));
      });
      if (options.json) return printJson(views);
      process.stdout.write(
        formatTable(
          ['ID', 'NAME', 'USER', 'HINT', 'CREATED', 'LAST USED', 'REVOKED'],
          views.map((k) => [k.id, k.name, k.user, `${k.hint}…`, k.created_at, k.last_used_at ?? '-', k.revoked ? 'yes' : 'no']),
        ),
      );
    }),
);

const revoke = withConfigOptions(
  new Command('revoke')
    .description('revoke an API key at once')
    .argument('<id>', 'the key id, as `apikey list` shows it')
    .action(async (id: string, _options: unknown, command: Command) => {
      const found = await withRuntime(command, (runtime) => runtime.apiKeys.revoke(id));
      if (!found) throw new CliError(`no API key with id ${JSON.stringify(id)}; see gatehouse apikey list`);
      process.stdout.write(`Revoked API key ${id}.\n`);
    }),
);

export function apikeyCommand(): Command {
  return new CommandGroup('apikey').description('manage API keys for the management API').addCommand(create).addCommand(list).addCommand(revoke);
}
