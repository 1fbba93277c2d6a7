import assert from 'node:assert/strict';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHttpUpstream } from '../fixtures/upstreams/http-server.js';
import { freePort } from '../helpers/app.js';
import { freshPostgresSchema, tempDir } from '../helpers/backends.js';
import { runCli } from './run-cli.js';

const OTHER_KEY = 'ab'.repeat(32);

describe('gatehouse doctor', () => {
  const temp = tempDir();
  const dataDir = path.join(temp.dir, 'data');
  const args = ['doctor', '--data-dir', dataDir, '--port', '0'];
  after(() => temp.remove());

  before(async () => {
    // Any command that opens the runtime creates the data dir, the key and the database.
    const added = await runCli(['user', 'add', 'admin', '--admin', '--password-stdin', '--data-dir', dataDir], { input: 'admin-Password-1' });
    assert.equal(added.code, 0, added.stderr);
  });

  it('exits 0 on a healthy data directory, with an ok line per check', async () => {
    const result = await runCli(args);
    assert.equal(result.code, 0, result.stdout);
    for (const check of ['config', 'data directory', 'master key', 'database file', 'database', 'key matches database', 'issuer URL', 'listen address']) {
      assert.match(result.stdout, new RegExp(`^ok\\s+${check}: `, 'm'), check);
    }
    assert.doesNotMatch(result.stdout, /^FAIL/m);
  });

  it('exits 1 and names chmod 600 when the key file is readable by others', async () => {
    const keyFile = path.join(dataDir, 'secret.key');
    chmodSync(keyFile, 0o644);
    try {
      const result = await runCli(args);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /^FAIL\s+master key: .*chmod 600 /m);
    } finally {
      chmodSync(keyFile, 0o600);
    }
  });

  it('exits 1 and names chmod 700 when the data directory is open to others', async () => {
    chmodSync(dataDir, 0o755);
    try {
      const result = await runCli(args);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /^FAIL\s+data directory: .*mode 0755[\s\S]*fix: chmod 700 /m);
    } finally {
      chmodSync(dataDir, 0o700);
    }
  });

  it('exits 1 and says to restore the original key when GATEHOUSE_SECRET_KEY is another key', async () => {
    const result = await runCli(args, { env: { GATEHOUSE_SECRET_KEY: OTHER_KEY } });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^FAIL\s+key matches database: .*Restore the original/m);
  });

  it('never creates a missing data directory or key: it reports them', async () => {
    const missing = path.join(temp.dir, 'not-there');
    const result = await runCli(['doctor', '--data-dir', missing, '--port', '0']);
    assert.match(result.stdout, /^warn\s+data directory: .*does not exist yet/m);
    assert.match(result.stdout, /^warn\s+master key: .*does not exist yet/m);
    assert.equal(existsSync(missing), false);
  });

  it('exits 1 when the listen port is taken by something that is not Gatehouse', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runCli(['doctor', '--data-dir', dataDir, '--port', String(port)]);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /^FAIL\s+listen address: .*in use by another program/m);
    } finally {
      blocker.close();
    }
  });

  it('checks a PostgreSQL database too: exit 0 once migrated, exit 1 when it cannot be reached', async () => {
    const schema = await freshPostgresSchema();
    const pgDir = path.join(temp.dir, 'pg');
    try {
      const added = await runCli(['user', 'add', 'admin', '--password-stdin', '--data-dir', pgDir, '--database-url', schema.url], { input: 'admin-Password-1' });
      assert.equal(added.code, 0, added.stderr);
      const healthy = await runCli(['doctor', '--data-dir', pgDir, '--database-url', schema.url, '--port', '0']);
      assert.equal(healthy.code, 0, healthy.stdout);
      assert.match(healthy.stdout, /^ok\s+database: postgres:.*schema version \d+ \(current\)/m);
      assert.match(healthy.stdout, /^ok\s+key matches database: /m);
    } finally {
      await schema.drop();
    }
    const unreachable = await runCli(['doctor', '--data-dir', pgDir, '--database-url', 'postgres://postgres@127.0.0.1:1/test', '--port', '0']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stdout, /^FAIL\s+database: .*unreachable[\s\S]*fix: check --database-url/m);
  });

  it('reaches every upstream: an MCP server answers, an unreachable one and a missing stdio command fail, each named', async () => {
    const upstream = await startHttpUpstream();
    const closedPort = await freePort();
    const config = path.join(temp.dir, 'upstreams.yaml');
    writeFileSync(
      config,
      [
        'upstreams:',
        `  - { name: live, connection_type: http, connection_string: "${upstream.url}" }`,
        `  - { name: gone, connection_type: http, connection_string: "http://127.0.0.1:${closedPort}/mcp" }`,
        `  - { name: local, connection_type: stdio, stdio_config: { command: "${process.execPath}" } }`,
        '  - { name: missing, connection_type: stdio, stdio_config: { command: gatehouse-no-such-command } }',
        '',
      ].join('\n'),
    );
    try {
      const result = await runCli([...args, '--config', config]);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stdout, /^ok\s+upstream live: http:\/\/127\.0\.0\.1:\d+\/mcp \(config file\) answers MCP \(HTTP 200\)/m);
      assert.match(result.stdout, /^FAIL\s+upstream gone: .* is unreachable \(ECONNREFUSED\)[\s\S]*fix: check connection_string/m);
      assert.match(result.stdout, /^ok\s+upstream local: command \S+ \(config file\) is /m);
      assert.match(result.stdout, /^FAIL\s+upstream missing: command gatehouse-no-such-command \(config file\) is not on the PATH/m);
      assert.ok(upstream.requests.length >= 1, 'the live upstream was asked');
    } finally {
      await upstream.close();
    }
  });

  it('reports every mistake of the config at once, upstreams included, each naming where it came from', async () => {
    const config = path.join(temp.dir, 'three-mistakes.yaml');
    writeFileSync(config, 'port: eighty\nupstreams:\n  - { name: Bad_Name, connection_type: http, connection_string: "http://127.0.0.1:1/mcp" }\n');
    const result = await runCli(['doctor', '--data-dir', dataDir, '--config', config], { env: { GATEHOUSE_LOG_LEVEL: 'loud' } });
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`^FAIL\\s+config: ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: port: `, 'm'));
    assert.match(result.stdout, /^FAIL\s+config: GATEHOUSE_LOG_LEVEL: /m);
    assert.match(result.stdout, /^FAIL\s+config: .*: upstreams\[0\]\.name: /m);
  });

  it('reports a bad setting as a failed config check, naming the setting', async () => {
    const result = await runCli(['doctor', '--data-dir', dataDir, '--database-url', 'mysql://x']);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^FAIL\s+config: --database-url/m);
  });
});
