import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../helpers/app.js';
import { tempDir } from '../helpers/backends.js';
import { CHILD_ADMIN_PASSWORD, startGatehouseChild, type GatehouseChild } from '../helpers/gatehouse-child.js';
import { authorizeHeadlessly } from '../helpers/headless-consent.js';

/**
 * The official MCP conformance suite's authorization-server scenarios, run by its own CLI. It needs Node >= 22 while
 * the project runs on Node 20, so it lives in the nested package `conformance/` with the npm `node` package's
 * binary; the root `postinstall` installs it.
 */
const CONFORMANCE_DIR = path.resolve('conformance');
const NODE_22 = path.join(CONFORMANCE_DIR, 'node_modules/node/bin/node');
const CLI = path.join(CONFORMANCE_DIR, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const SCENARIOS = ['authorization-server-metadata-endpoint', 'authorization-code-grant'];
/** WARNINGs accepted, by check id. None: every optional item the suite grades (CIMD support) is implemented. */
const ACCEPTED_WARNINGS = new Set<string>();
const RUN_TIMEOUT_MS = 90_000;

interface Check {
  id: string;
  name: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
}

describe('the official MCP conformance suite (authorization server scenarios) against a running gatehouse serve', () => {
  let gatehouse: GatehouseChild;
  const results = tempDir('gatehouse-conformance-');

  before(async () => {
    for (const file of [NODE_22, CLI]) {
      if (!existsSync(file)) assert.fail(`${file} is missing: run \`npm install\` (its postinstall installs conformance/)`);
    }
    gatehouse = await startGatehouseChild();
  });
  after(async () => {
    await gatehouse?.stop();
    results.remove();
  });

  /** A public client whose redirect URI is the suite's callback server (`http://127.0.0.1:<port>/callback`). */
  async function registerSuiteClient(callbackPort: number): Promise<string> {
    const response = await fetch(`${gatehouse.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'MCP conformance suite',
        redirect_uris: [`http://127.0.0.1:${callbackPort}/callback`],
        token_endpoint_auth_method: 'none',
      }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    return ((await response.json()) as { client_id: string }).client_id;
  }

  /** The suite prints the authorization URL and waits for a browser: this is that browser. */
  async function actAsBrowser(authorizationUrl: string): Promise<void> {
    const { location } = await authorizeHeadlessly(authorizationUrl, { credentials: { username: 'admin', password: CHILD_ADMIN_PASSWORD } });
    // The suite's callback server may still be binding when it prints the URL: retry a refused connection briefly.
    for (let attempt = 0; ; attempt += 1) {
      try {
        const callback = await fetch(location);
        await callback.body?.cancel();
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        await sleep(100);
      }
    }
  }

  function readChecks(): Map<string, Check[]> {
    const byScenario = new Map<string, Check[]>();
    for (const entry of readdirSync(results.dir)) {
      const scenario = SCENARIOS.find((name) => entry.startsWith(`authorization-server-${name}-`));
      const file = path.join(results.dir, entry, 'checks.json');
      if (scenario && existsSync(file)) byScenario.set(scenario, JSON.parse(readFileSync(file, 'utf8')) as Check[]);
    }
    return byScenario;
  }

  it('passes every check of authorization-server-metadata-endpoint and authorization-code-grant, driven headlessly', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
    const callbackPort = await freePort();
    const clientId = await registerSuiteClient(callbackPort);
    const args = [CLI, 'authorization', '--url', gatehouse.url, '--client-id', clientId, '--resource', `${gatehouse.url}/mcp`, '-p', String(callbackPort), '-o', results.dir];
    const suite = spawn(NODE_22, args, { cwd: CONFORMANCE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => suite.kill('SIGKILL'), RUN_TIMEOUT_MS);
    let output = '';
    const browsing: Promise<void>[] = [];
    const authorizePrefix = `${gatehouse.url}/oauth/authorize?`;
    suite.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let pendingLine = '';
    suite.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const lines = (pendingLine + chunk.toString()).split('\n');
      pendingLine = lines.pop() ?? '';
      for (const line of lines.map((text) => text.trim())) {
        if (line.startsWith(authorizePrefix)) browsing.push(actAsBrowser(line));
      }
    });
    const [exitCode] = (await once(suite, 'close')) as [number | null];
    clearTimeout(killer);
    const browserErrors = (await Promise.allSettled(browsing)).filter((outcome) => outcome.status === 'rejected');
    assert.deepEqual(browserErrors.map((outcome) => String((outcome as PromiseRejectedResult).reason)), [], `the headless browser failed\n${output}`);
    assert.equal(browsing.length, 1, `the suite printed one authorization URL\n${output}`);

    const checks = readChecks();
    assert.deepEqual([...checks.keys()].sort(), [...SCENARIOS].sort(), `checks.json for both scenarios\n${output}`);
    const problems = [...checks].flatMap(([scenario, list]) =>
      list
        .filter((check) => check.status !== 'SUCCESS' && !(check.status === 'WARNING' && ACCEPTED_WARNINGS.has(check.id)))
        .map((check) => `${scenario}: ${check.id} ${check.status}${check.errorMessage ? `: ${check.errorMessage}` : ''}`),
    );
    assert.deepEqual(problems, [], `conformance checks that did not pass:\n  ${problems.join('\n  ')}\n\nsuite output:\n${output}`);
    assert.ok([...checks.values()].flat().length >= 3, 'the suite graded the metadata, its CIMD flag and the code grant');
    assert.equal(exitCode, 0, output);
  });
});
