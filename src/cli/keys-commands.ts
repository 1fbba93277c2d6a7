import { Command } from 'commander';
import type { SigningKeyInfo } from '../crypto/signing-keys.js';
import { CommandGroup } from './command.js';
import { withConfigOptions, withRuntime } from './config-options.js';
import { formatTable, printJson } from './table.js';

const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());

/** What `keys list` prints: public facts only, times as ISO 8601. */
function keyView(key: SigningKeyInfo) {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    created_at: iso(key.createdAt),
    activated_at: iso(key.activatedAt),
    retired_at: iso(key.retiredAt),
    published_until: iso(key.expiresAt),
  };
}

const cycle = `
Rotation cycle: each rotation promotes the key published by the previous one and publishes a new next key.
So a key is in the JWKS (cached by verifiers for up to 5 minutes) before it signs anything:
  gatehouse keys rotate   # the first time: publishes a next key; the current key keeps signing
  (wait at least 5 minutes, e.g. rotate on a schedule)
  gatehouse keys rotate   # the next key signs; the old one is retired but still verifies
Retired keys stay published until every token they signed has expired (access-token lifetime plus clock
skew), then drop out of the JWKS and are deleted at a later rotation. Running replicas pick up a rotation
within a few seconds.`;

const list = withConfigOptions(
  new Command('list')
    .description('list the access-token signing keys and their states (never private material)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const views = (await withRuntime(command, (runtime) => runtime.signingKeys.list())).map(keyView);
      if (options.json) return printJson(views);
      if (views.length === 0) {
        process.stderr.write('No signing keys yet: the first token issued creates one, or run gatehouse keys rotate.\n');
        return;
      }
      process.stdout.write(
        formatTable(
          ['KID', 'STATE', 'CREATED', 'ACTIVATED', 'RETIRED', 'PUBLISHED UNTIL'],
          views.map((k) => [k.kid, k.state, k.created_at!, k.activated_at ?? '-', k.retired_at ?? '-', k.published_until ?? '-']),
        ),
      );
    }),
);

const rotate = withConfigOptions(
  new Command('rotate')
    .description('promote the published next key to signing, retire the old one, publish a new next key')
    .addHelpText('after', cycle)
    .action(async (_options: unknown, command: Command) => {
      const result = await withRuntime(command, (runtime) => runtime.signingKeys.rotate());
      const lines = [
        `Signing with ${result.current}.`,
        ...result.retired.map((kid) => `Retired ${kid}: still verifies until its tokens have expired.`),
        `Published next key ${result.next}: it signs from the following rotation.`,
        ...result.deleted.map((kid) => `Deleted ${kid}: every token it signed has expired.`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }),
);

export function keysCommand(): Command {
  return new CommandGroup('keys')
    .description('manage the keys that sign access tokens (JWKS at /oauth/jwks)')
    .addHelpText('after', cycle)
    .addCommand(list)
    .addCommand(rotate);
}
