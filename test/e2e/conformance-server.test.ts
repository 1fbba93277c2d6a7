import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/backends.js';
import { startForwardingProxy, type ForwardingProxy } from '../helpers/forwarding-proxy.js';

/**
 * The official MCP conformance suite's SERVER scenarios against Gatehouse's /mcp (with the built-in demo upstream).
 * The suite cannot send an Authorization header, so a test-only proxy in front of the in-process app adds
 * `Authorization: Bearer <admin API key>` to every request; Host and Origin pass through untouched, so the
 * DNS-rebinding scenario reaches the gateway as sent. Production code has no auth-off switch.
 */
const CONFORMANCE_DIR = path.resolve('conformance');
const NODE_22 = path.join(CONFORMANCE_DIR, 'node_modules/node/bin/node');
const CLI = path.join(CONFORMANCE_DIR, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const SPEC_VERSION = '2025-11-25';

/** The scenarios that apply to a gateway: protocol mechanics that do not depend on particular tools, resources or prompts. */
const SCENARIOS = [
  'server-initialize',
  'server-session-lifecycle',
  'ping',
  'logging-set-level',
  'tools-list',
  'resources-list',
  'prompts-list',
  'server-sse-multiple-streams',
  'dns-rebinding-protection',
];

/**
 * Skipped, and why (`conformance list --server`):
 * - tools-call-* (simple-text, image, audio, embedded-resource, mixed-content, with-logging, error, with-progress,
 *   sampling, elicitation), json-schema-2020-12, elicitation-sep1034-defaults, elicitation-sep1330-enums,
 *   server-sse-polling: each calls a test tool by its bare name (`test_simple_text`, …); the gateway exposes every
 *   upstream tool as `<upstream>_<tool>`, so no gateway can answer them. The behaviours themselves (content relayed
 *   unchanged, error results, progress, logging) are proven through the gateway in test/e2e/gateway.test.ts.
 * - resources-read-*, resources-templates-read, resources-subscribe, resources-unsubscribe, prompts-get-*,
 *   completion-complete: they name fixed test resources (`test://…`) and prompts (`test_simple_prompt`, …).
 * - server-stateless, caching, http-header-validation, http-custom-header-server-validation, sep-2164-resource-not-found,
 *   input-required-result-*: MCP 2026-07-28 only; the gateway is built on SDK 1.x, which serves up to 2025-11-25.
 * - sep-2640-skills-*, tasks-*: extensions the gateway does not offer.
 */

const RUN_TIMEOUT_MS = 60_000;

interface Check {
  id: string;
  name: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
}

describe('the official MCP conformance suite (server scenarios) against /mcp', { timeout: 300_000 }, () => {
  const results = tempDir('gatehouse-conformance-server-');
  let gatehouse: TestApp;
  let proxy: ForwardingProxy;

  before(async () => {
    for (const file of [NODE_22, CLI]) {
      if (!existsSync(file)) assert.fail(`${file} is missing: run \`npm install\` (its postinstall installs conformance/)`);
    }
    gatehouse = await startTestApp({ listen: true });
    const created = await gatehouse.app.inject({
      method: 'POST',
      url: '/api/apikeys',
      headers: { authorization: basicAuth('admin', TEST_ADMIN_PASSWORD) },
      payload: { name: 'conformance suite' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const { key } = created.json() as { key: string };
    proxy = await startForwardingProxy(gatehouse.url!, { headers: { authorization: `Bearer ${key}` }, keepHost: true });
  });
  after(async () => {
    await proxy?.close();
    await gatehouse?.close();
    results.remove();
  });

  async function runScenario(scenario: string): Promise<{ checks: Check[]; output: string; exitCode: number | null }> {
    const outputDir = path.join(results.dir, scenario);
    const args = [CLI, 'server', '--url', `${proxy.origin}/mcp`, '--scenario', scenario, '--spec-version', SPEC_VERSION, '-o', outputDir];
    const suite = spawn(NODE_22, args, { cwd: CONFORMANCE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => suite.kill('SIGKILL'), RUN_TIMEOUT_MS);
    let output = '';
    suite.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    suite.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [exitCode] = (await once(suite, 'close')) as [number | null];
    clearTimeout(killer);
    const checks = existsSync(outputDir)
      ? readdirSync(outputDir, { recursive: true, encoding: 'utf8' })
          .filter((entry) => entry.endsWith('checks.json'))
          .flatMap((entry) => JSON.parse(readFileSync(path.join(outputDir, entry), 'utf8')) as Check[])
      : [];
    return { checks, output, exitCode };
  }

  for (const scenario of SCENARIOS) {
    it(`passes every check of ${scenario}`, { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
      const { checks, output, exitCode } = await runScenario(scenario);
      const graded = checks.filter((check) => check.status !== 'INFO');
      assert.ok(graded.length > 0, `the suite graded ${scenario}\n${output}`);
      const problems = graded
        .filter((check) => check.status !== 'SUCCESS')
        .map((check) => `${check.id} ${check.status}${check.errorMessage ? `: ${check.errorMessage}` : ''}`);
      assert.deepEqual(problems, [], `${scenario}: checks that did not pass\n${output}`);
      assert.equal(exitCode, 0, output);
    });
  }
});
