import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers/backends.js';
import { runCli } from './run-cli.js';

interface ListedSigningKey {
  kid: string;
  state: string;
  activated_at: string | null;
  retired_at: string | null;
  published_until: string | null;
}

describe('gatehouse keys', () => {
  const temp = tempDir();
  const dataDir = ['--data-dir', temp.dir];
  after(() => temp.remove());

  const listed = async () => {
    const result = await runCli(['keys', 'list', '--json', ...dataDir]);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /"d"|sealed|private|v1\./i, 'no private material is printed');
    return JSON.parse(result.stdout) as ListedSigningKey[];
  };

  it('keys list on a fresh database shows no keys and says how one appears', async () => {
    const result = await runCli(['keys', 'list', ...dataDir]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /first token issued creates one/);
  });

  it('the first rotate publishes a next key while the current one keeps signing; the second promotes it', async () => {
    const first = await runCli(['keys', 'rotate', ...dataDir]);
    assert.equal(first.code, 0, first.stderr);
    const afterFirst = await listed();
    const current = afterFirst.find((key) => key.state === 'current')!;
    const next = afterFirst.find((key) => key.state === 'next')!;
    assert.equal(afterFirst.length, 2);
    assert.ok(current.activated_at);
    assert.equal(next.activated_at, null);
    assert.match(first.stdout, new RegExp(`Signing with ${current.kid}\\.`));
    assert.match(first.stdout, new RegExp(`Published next key ${next.kid}`));

    const second = await runCli(['keys', 'rotate', ...dataDir]);
    assert.equal(second.code, 0, second.stderr);
    const states = Object.fromEntries((await listed()).map((key) => [key.kid, key]));
    assert.equal(states[next.kid]!.state, 'current');
    assert.equal(states[current.kid]!.state, 'retired');
    assert.ok(states[current.kid]!.published_until, 'a retired key shows until when it stays published');
    assert.equal(Object.values(states).filter((key) => key.state === 'next').length, 1);

    const table = await runCli(['keys', 'list', ...dataDir]);
    assert.match(table.stdout, /^KID\s+STATE\s+CREATED\s+ACTIVATED\s+RETIRED\s+PUBLISHED UNTIL/);
    assert.match(table.stdout, new RegExp(`${current.kid}\\s+retired`));
  });

  it('keys rotate --help explains that a key is published one rotation before it signs', async () => {
    const help = await runCli(['keys', 'rotate', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /publishes a next key/);
    assert.match(help.stdout, /--data-dir/);
  });
});
