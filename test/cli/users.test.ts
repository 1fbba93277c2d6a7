import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { openRuntime } from '../../src/runtime.js';
import { tempDir } from '../helpers/backends.js';
import { runCli } from './run-cli.js';

describe('gatehouse user', () => {
  const temp = tempDir();
  const dataDir = ['--data-dir', temp.dir];
  after(() => temp.remove());

  before(async () => {
    const added = await runCli(['user', 'add', 'alice', '--password-stdin', ...dataDir], { input: 'first-Password-1\n' });
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /Created user alice/);
  });

  async function login(username: string, password: string) {
    const runtime = await openRuntime(loadConfig({ dataDir: temp.dir }, {}));
    try {
      return (await runtime.login.attempt(username, password, '127.0.0.1')).ok;
    } finally {
      await runtime.close();
    }
  }

  it('user add with --password-stdin creates a user that user list --json shows', async () => {
    const listed = await runCli(['user', 'list', '--json', ...dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    const users = JSON.parse(listed.stdout) as { username: string; is_admin: boolean; disabled: boolean }[];
    assert.deepEqual(
      users.map((u) => [u.username, u.is_admin, u.disabled]),
      [['alice', false, false]],
    );
    assert.doesNotMatch(listed.stdout, /scrypt|password/i);
  });

  it('--password-stdin strips exactly one trailing newline', async () => {
    assert.equal(await login('alice', 'first-Password-1'), true);
    assert.equal(await login('alice', 'first-Password-1\n'), false);
  });

  it('user add --admin makes an administrator', async () => {
    const added = await runCli(['user', 'add', 'root2', '--admin', '--password-stdin', ...dataDir], { input: 'admin-Password-2' });
    assert.equal(added.code, 0, added.stderr);
    const users = JSON.parse((await runCli(['user', 'list', '--json', ...dataDir])).stdout) as { username: string; is_admin: boolean }[];
    assert.equal(users.find((u) => u.username === 'root2')?.is_admin, true);
  });

  it('a password given on the command line is refused with exit 2, and no user is created', async () => {
    const result = await runCli(['user', 'add', 'mallory', '--password', 'on-the-Command-line-1', ...dataDir]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, /^gatehouse: passwords are never taken from the command line/);
    const users = JSON.parse((await runCli(['user', 'list', '--json', ...dataDir])).stdout) as { username: string }[];
    assert.equal(users.some((u) => u.username === 'mallory'), false);
  });

  it('without a terminal and without --password-stdin, user add exits 2 with one line naming --password-stdin', async () => {
    const result = await runCli(['user', 'add', 'nobody', ...dataDir]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^gatehouse: .*--password-stdin\n$/);
  });

  it('a duplicate username or a too-short password exits 2 with one line', async () => {
    const duplicate = await runCli(['user', 'add', 'Alice', '--password-stdin', ...dataDir], { input: 'another-Password-1' });
    assert.equal(duplicate.code, 2);
    assert.match(duplicate.stderr, /^gatehouse: user "alice" exists already\n$/);
    const short = await runCli(['user', 'add', 'shorty', '--password-stdin', ...dataDir], { input: 'x' });
    assert.equal(short.code, 2);
    assert.match(short.stderr, /^gatehouse: password .*\n$/);
  });

  it('user passwd changes the password: the new one signs in, the old one no longer does', async () => {
    const changed = await runCli(['user', 'passwd', 'alice', '--password-stdin', ...dataDir], { input: 'second-Password-2\n' });
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(await login('alice', 'second-Password-2'), true);
    assert.equal(await login('alice', 'first-Password-1'), false);
  });

  it('user passwd for an unknown user exits 2', async () => {
    const result = await runCli(['user', 'passwd', 'ghost', '--password-stdin', ...dataDir], { input: 'whatever-Password-1' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^gatehouse: no user named "ghost"\n$/);
  });

  it('user disable marks the user disabled and stops their sign-in', async () => {
    const added = await runCli(['user', 'add', 'bob', '--password-stdin', ...dataDir], { input: 'bob-Password-1' });
    assert.equal(added.code, 0, added.stderr);
    assert.equal(await login('bob', 'bob-Password-1'), true);
    const disabled = await runCli(['user', 'disable', 'bob', ...dataDir]);
    assert.equal(disabled.code, 0, disabled.stderr);
    const users = JSON.parse((await runCli(['user', 'list', '--json', ...dataDir])).stdout) as { username: string; disabled: boolean }[];
    assert.equal(users.find((u) => u.username === 'bob')?.disabled, true);
    assert.equal(await login('bob', 'bob-Password-1'), false);
  });

  it('user list without --json prints a table with a header', async () => {
    const listed = await runCli(['user', 'list', ...dataDir]);
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, /^USERNAME\s+ADMIN\s+DISABLED/);
    assert.match(listed.stdout, /\nalice\s+no\s+no\s/);
  });
});
