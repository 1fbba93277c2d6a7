import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { openRuntime } from '../src/runtime.js';
import { freshPostgresSchema, tempDir } from './helpers/backends.js';
import { runCli, startServe, stopServe } from './cli/run-cli.js';
import { startHttpUpstream } from './fixtures/upstreams/http-server.js';

const ADMIN_PASSWORD = 'serve-Admin-pw-1';

async function getHealth(address: string): Promise<number> {
  return (await fetch(`${address}/health`)).status;
}

/** A POST whose body is sent in two halves, so the test decides when the request can finish. */
function halfSentPost(address: string, path: string, body: string, authorization: string) {
  const cut = Math.floor(body.length / 2);
  const request = http.request(`${address}${path}`, {
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization },
  });
  const response = once(request, 'response').then(async (args) => {
    const res = args[0] as http.IncomingMessage;
    let text = '';
    for await (const chunk of res) text += String(chunk);
    return { status: res.statusCode, body: text };
  });
  request.write(body.slice(0, cut));
  return { response, finish: () => request.end(body.slice(cut)) };
}

describe('gatehouse serve', () => {
  const temp = tempDir();
  after(() => temp.remove());

  it('without a terminal, writes the generated admin password to a 0600 file in the data dir, never to stdout, once across two starts; passwd admin removes it', async () => {
    const dataDir = `${temp.dir}/first-start`;
    const passwordFile = path.join(dataDir, 'initial-admin-password');
    const first = await startServe(['--data-dir', dataDir]);
    assert.equal(await stopServe(first), 0);
    const password = readFileSync(passwordFile, 'utf8').trim();
    assert.ok(password.length >= 20);
    assert.equal(statSync(passwordFile).mode & 0o777, 0o600);
    const written = statSync(passwordFile).mtimeMs;
    const second = await startServe(['--data-dir', dataDir]);
    assert.equal(await stopServe(second), 0);
    assert.equal(statSync(passwordFile).mtimeMs, written);

    for (const serving of [first, second]) {
      assert.equal(serving.stdout().includes(password), false);
      assert.equal(serving.stderr().includes(password), false);
    }
    assert.ok(first.logLines().some((line) => line.file === passwordFile && String(line.msg).includes('gatehouse user passwd admin')));

    const runtime = await openRuntime(loadConfig({ dataDir }, {}));
    try {
      assert.equal((await runtime.login.attempt('admin', password, '127.0.0.1')).ok, true);
    } finally {
      await runtime.close();
    }
    const passwd = await runCli(['user', 'passwd', 'admin', '--password-stdin', '--data-dir', dataDir], { input: 'changed-Admin-pw-1\n' });
    assert.equal(passwd.code, 0, passwd.stderr);
    assert.equal(existsSync(passwordFile), false);
  });

  it('answers /health and logs its address and the normalised public URL', async () => {
    const serving = await startServe(['--data-dir', `${temp.dir}/health`, '--public-url', 'http://127.0.0.1:9/'], {
      GATEHOUSE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    });
    try {
      assert.equal(await getHealth(serving.address), 200);
      const listening = await serving.waitForLog((line) => typeof line.publicUrl === 'string');
      assert.equal(listening.publicUrl, 'http://127.0.0.1:9');
      assert.doesNotMatch(serving.stdout(), /Created user admin with password/);
      const port = new URL(serving.address).port;
      const doctor = await runCli(['doctor', '--data-dir', `${temp.dir}/health`, '--port', port]);
      assert.match(doctor.stdout, /^ok\s+listen address: .*served by a running gateway/m);
    } finally {
      assert.equal(await stopServe(serving), 0);
    }
  });

  it('on SIGTERM, a request in flight completes with 201 and the process then exits 0', async () => {
    const serving = await startServe(['--data-dir', `${temp.dir}/graceful`], { GATEHOUSE_ADMIN_PASSWORD: ADMIN_PASSWORD });
    const body = JSON.stringify({ username: 'late-arrival', password: 'late-Password-1' });
    const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
    const post = halfSentPost(serving.address, '/api/users', body, basic);
    // The server has the request once it logs it; only then is it "in flight".
    await serving.waitForLog((line) => line.msg === 'incoming request' && (line.req as { url?: string })?.url === '/api/users');
    serving.child.kill('SIGTERM');
    await serving.waitForLog((line) => line.signal === 'SIGTERM');
    post.finish();
    const response = await post.response;
    assert.equal(response.status, 201, response.body);
    assert.equal((JSON.parse(response.body) as { username: string }).username, 'late-arrival');
    assert.equal(await serving.exited, 0);
    assert.ok(serving.logLines().some((line) => line.msg === 'shut down cleanly'));
  });

  for (const backend of ['sqlite', 'postgres'] as const) {
    it(`after stop(), nothing is left referenced: the process ends by itself (${backend}, with an HTTP upstream)`, async () => {
      const schema = backend === 'postgres' ? await freshPostgresSchema() : undefined;
      const upstream = await startHttpUpstream();
      const configFile = `${temp.dir}/ends-${backend}.json`;
      writeFileSync(configFile, JSON.stringify({ upstreams: [{ name: 'web', connection_type: 'http', connection_string: upstream.url, auth_type: 'none' }] }));
      try {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', 'test/fixtures/start-and-stop-server.ts', '--data-dir', `${temp.dir}/ends-${backend}`, '--config', configFile, ...(schema ? ['--database-url', schema.url] : [])],
          { env: { ...process.env, GATEHOUSE_ADMIN_PASSWORD: ADMIN_PASSWORD }, stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
        clearTimeout(timer);
        assert.equal(signal, null, `the process did not end by itself; ${stderr}`);
        assert.equal(code, 0, stderr);
        assert.match(stderr, /^stopped; still active:/m);
      } finally {
        await upstream.close();
        await schema?.drop();
      }
    });
  }

  it('serves on PostgreSQL with --database-url and answers /health', async () => {
    const schema = await freshPostgresSchema();
    try {
      const serving = await startServe(['--data-dir', `${temp.dir}/postgres`, '--database-url', schema.url], {
        GATEHOUSE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      });
      try {
        assert.equal(await getHealth(serving.address), 200);
      } finally {
        assert.equal(await stopServe(serving), 0);
      }
    } finally {
      await schema.drop();
    }
  });

  it('a port in use stops the start with one line on stderr and exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runCli(['serve', '--data-dir', `${temp.dir}/busy`, '--port', String(port)], {
        env: { GATEHOUSE_ADMIN_PASSWORD: ADMIN_PASSWORD },
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`^gatehouse: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use[^\\n]*\\n$`));
    } finally {
      blocker.close();
    }
  });

  it('a changed master key stops the start with one line on stderr and exit 2', async () => {
    const dataDir = `${temp.dir}/rekeyed`;
    const created = await runCli(['user', 'add', 'someone', '--password-stdin', '--data-dir', dataDir], { input: 'someone-Password-1' });
    assert.equal(created.code, 0, created.stderr);
    const result = await runCli(['serve', '--data-dir', dataDir], { env: { GATEHOUSE_SECRET_KEY: 'cd'.repeat(32) } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^gatehouse: the master key from GATEHOUSE_SECRET_KEY .* is not the key this database was created with[^\n]*\n$/);
  });

  it('an unreachable PostgreSQL stops the start with one line on stderr and exit 1', async () => {
    const result = await runCli(['serve', '--data-dir', `${temp.dir}/nopg`, '--database-url', 'postgres://postgres@127.0.0.1:1/test']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^gatehouse: cannot use the database \(.*ECONNREFUSED.*\); check --database-url[^\n]*\n$/);
  });
});
