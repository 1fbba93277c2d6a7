import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { tempDir } from '../helpers/backends.js';
import { runCli } from './run-cli.js';
import packageJson from '../../package.json' with { type: 'json' };

function commandPaths(command: Command, prefix: string[] = []): string[][] {
  const here = [...prefix, ...(command.parent ? [command.name()] : [])];
  return [here, ...command.commands.flatMap((child) => commandPaths(child, here))];
}

function assertOneLineUsageError(result: { code: number | null; stdout: string; stderr: string }, pattern: RegExp) {
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^gatehouse: [^\n]+\n$/);
  assert.match(result.stderr, pattern);
  assert.equal(result.stdout, '');
}

describe('gatehouse arguments', () => {
  const temp = tempDir();
  after(() => temp.remove());

  it('--help works on every command and subcommand, exit 0', async () => {
    const paths = commandPaths(buildProgram());
    assert.ok(paths.length >= 11);
    const results = await Promise.all(paths.map((path) => runCli([...path, '--help'])));
    results.forEach((result, index) => {
      const path = paths[index]!.join(' ');
      assert.equal(result.code, 0, `gatehouse ${path} --help: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`^Usage: gatehouse${path ? ` ${path}` : ''} `), path);
    });
  });

  it('--version and -V print the package version and exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `${packageJson.version}\n`);
    }
  });

  it('serve with a config of several mistakes exits 2 listing them all, upstreams included, and creates nothing', async () => {
    const dataDir = path.join(temp.dir, 'never-created');
    const config = path.join(temp.dir, 'mistakes.yaml');
    writeFileSync(config, 'port: eighty\nupstreams:\n  - { name: ok-one, connection_type: http }\n  - { name: Bad_Name, connection_type: stdio, stdio_config: { command: x } }\n');
    const result = await runCli(['serve', '--data-dir', dataDir, '--config', config]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^gatehouse: 3 problems in the configuration:\n/);
    assert.match(result.stderr, /: port: /);
    assert.match(result.stderr, /: upstreams\[0\]\.connection_string: is required/);
    assert.match(result.stderr, /: upstreams\[1\]\.name: /);
    assert.equal(existsSync(dataDir), false);
  });

  it('an unknown command exits 2 with one line on stderr', async () => {
    assertOneLineUsageError(await runCli(['frobnicate']), /unknown command 'frobnicate'/);
    assertOneLineUsageError(await runCli(['user', 'frobnicate']), /unknown command 'frobnicate'/);
  });

  it('an unknown option exits 2 with one line on stderr', async () => {
    assertOneLineUsageError(await runCli(['user', 'list', '--colour', '--data-dir', temp.dir]), /unknown option '--colour'/);
  });

  it('a missing command or argument exits 2 with one line on stderr', async () => {
    assertOneLineUsageError(await runCli([]), /needs a command/);
    assertOneLineUsageError(await runCli(['apikey']), /apikey needs a command/);
    assertOneLineUsageError(await runCli(['user', 'disable', '--data-dir', temp.dir]), /missing required argument 'username'/);
  });

  it('--database-url mysql://x exits 2 naming the setting', async () => {
    assertOneLineUsageError(await runCli(['user', 'list', '--data-dir', temp.dir, '--database-url', 'mysql://x']), /--database-url/);
  });

  it('a bad environment twin is named too: GATEHOUSE_PORT=nope exits 2', async () => {
    assertOneLineUsageError(await runCli(['serve', '--data-dir', temp.dir], { env: { GATEHOUSE_PORT: 'nope' } }), /GATEHOUSE_PORT/);
  });

  it('--public-url with a trailing slash is normalised', async () => {
    const result = await runCli(['doctor', '--data-dir', temp.dir, '--port', '0', '--public-url', 'http://x.example/']);
    assert.match(result.stdout, /used as http:\/\/x\.example\s/);
    assert.match(result.stdout, /fix: set --public-url without the trailing slash/);
  });
});
