import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { basicAuth, startTestApp, TEST_ADMIN_PASSWORD, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/backends.js';
import { startConformanceUpstream, type ConformanceUpstream } from '../fixtures/upstreams/conformance-server.js';
import { inputRequiredConformance } from '../fixtures/upstreams/input-required-tools.js';
import { startStatelessUpstream, type StatelessUpstream } from '../fixtures/upstreams/stateless-server.js';
import { startForwardingProxy, type ForwardingProxy } from '../helpers/forwarding-proxy.js';

/**
 * The official MCP conformance suite's SERVER scenarios against Gatehouse's /mcp. Behind it are two upstreams, both
 * configured with `tool_name_prefix: false`, so the suite finds their tools under their own names (the demo upstream
 * is off): test/fixtures/upstreams/conformance-server.ts, a 2025-11-25 server offering the tools, resources and
 * prompts of most scenarios, and test/fixtures/upstreams/stateless-server.ts, a 2026-07-28 server offering those of
 * the `input-required-result-*` scenarios (input-required-tools.ts), which only a 2026-07-28 server can answer.
 * Every scenario below thus runs through the gateway: listing, name mapping, forwarding, the relay of progress and
 * log messages, the relay of the 2025 upstream's sampling and elicitation requests to the session whose call they
 * serve, and the 2026-07-28 upstream's `input_required` results passed on under Gatehouse's sealed `requestState`.
 * The suite cannot send an Authorization header, so a test-only proxy in front of the in-process app adds
 * `Authorization: Bearer <admin API key>` to every request; Host and Origin pass through untouched, so the
 * DNS-rebinding scenario reaches the gateway as sent. Production code has no auth-off switch.
 */
const CONFORMANCE_DIR = path.resolve('conformance');
const NODE_22 = path.join(CONFORMANCE_DIR, 'node_modules/node/bin/node');
const CLI = path.join(CONFORMANCE_DIR, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
/** Not `test`: the suite's names start with `test_`, which would be reserved for an upstream named `test`. */
const UPSTREAM_NAME = 'conformance';
const MODERN_UPSTREAM_NAME = 'conformance-2026';

/** The server scenarios of both versions that a gateway can pass (`conformance list --server`). */
const SCENARIOS_OF_BOTH = [
  'completion-complete',
  'tools-list',
  'tools-call-simple-text',
  'tools-call-image',
  'tools-call-audio',
  'tools-call-embedded-resource',
  'tools-call-mixed-content',
  'tools-call-error',
  'tools-call-with-progress',
  'json-schema-2020-12',
  'server-sse-multiple-streams',
  'resources-list',
  'resources-read-text',
  'resources-read-binary',
  'resources-templates-read',
  'prompts-list',
  'prompts-get-simple',
  'prompts-get-with-args',
  'prompts-get-embedded-resource',
  'prompts-get-with-image',
  'dns-rebinding-protection',
];

/** Every 2025-11-25 server scenario a gateway can pass: those of both, and those 2026-07-28 removed. */
const SCENARIOS_2025 = [
  'server-initialize',
  'server-session-lifecycle',
  'ping',
  'logging-set-level',
  'tools-call-with-logging',
  'tools-call-sampling',
  'tools-call-elicitation',
  'elicitation-sep1034-defaults',
  'elicitation-sep1330-enums',
  'resources-subscribe',
  'resources-unsubscribe',
  ...SCENARIOS_OF_BOTH,
];

/**
 * Skipped at 2025-11-25, and why:
 * - server-sse-polling: it checks that /mcp itself sends a priming event and a `retry` field, closes the POST
 *   stream mid-call and resumes it on GET with Last-Event-ID (SEP-1699); the gateway's transport keeps no event
 *   store, so its streams are not resumable. This is about /mcp's own streams, not about any upstream.
 * - sep-2640-skills-*, tasks-*: extensions the gateway does not offer.
 */

/**
 * The 2026-07-28 server scenarios (`conformance list --server --spec-version 2026-07-28`) run statelessly against the
 * same /mcp, beside the 2025 sessions above: per-request `_meta`, `server/discover`, routing headers, cache hints.
 */
const SCENARIOS_2026 = [
  'server-stateless',
  'sep-2164-resource-not-found',
  'caching',
  'http-header-validation',
  'http-custom-header-server-validation',
  'input-required-result-basic-elicitation',
  'input-required-result-basic-sampling',
  'input-required-result-basic-list-roots',
  'input-required-result-request-state',
  'input-required-result-multiple-input-requests',
  'input-required-result-multi-round',
  'input-required-result-missing-input-response',
  'input-required-result-non-tool-request',
  'input-required-result-result-type',
  'input-required-result-unsupported-methods',
  'input-required-result-tampered-state',
  'input-required-result-capability-check',
  'input-required-result-ignore-extra-params',
  'input-required-result-validate-input',
  ...SCENARIOS_OF_BOTH,
];

/**
 * Checks of the scenarios above that do not pass at 2026-07-28, each with the reason; the test fails when one of them
 * starts passing (remove it here) or another check fails.
 */
const KNOWN_GAPS_2026: Record<string, Record<string, string>> = {};

/**
 * Skipped at 2026-07-28, and why:
 * - sep-2640-skills-*, tasks-*: extensions the gateway does not offer.
 */
const RUNS = [
  { specVersion: '2025-11-25', scenarios: SCENARIOS_2025, knownGaps: {} as Record<string, Record<string, string>> },
  { specVersion: '2026-07-28', scenarios: SCENARIOS_2026, knownGaps: KNOWN_GAPS_2026 },
];

const RUN_TIMEOUT_MS = 60_000;

interface Check {
  id: string;
  name: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
}

describe('the official MCP conformance suite (server scenarios) against /mcp', { timeout: 1_200_000 }, () => {
  const results = tempDir('gatehouse-conformance-server-');
  let upstream: ConformanceUpstream;
  let modernUpstream: StatelessUpstream;
  let gatehouse: TestApp;
  let proxy: ForwardingProxy;

  before(async () => {
    for (const file of [NODE_22, CLI]) {
      if (!existsSync(file)) assert.fail(`${file} is missing: run \`npm install\` (its postinstall installs conformance/)`);
    }
    upstream = await startConformanceUpstream();
    modernUpstream = await startStatelessUpstream(inputRequiredConformance);
    const configFile = path.join(results.dir, 'gatehouse.json');
    const upstreams = [
      { name: UPSTREAM_NAME, connection_type: 'http', connection_string: upstream.url, tool_name_prefix: false },
      { name: MODERN_UPSTREAM_NAME, connection_type: 'http', connection_string: modernUpstream.url, tool_name_prefix: false },
    ];
    writeFileSync(configFile, JSON.stringify({ upstreams }));
    gatehouse = await startTestApp({ listen: true, flags: { config: configFile, noDemo: true } });
    await connected(gatehouse);
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
    await upstream?.close();
    await modernUpstream?.close();
    results.remove();
  });

  async function runScenario(scenario: string, specVersion: string): Promise<{ checks: Check[]; output: string; exitCode: number | null }> {
    const outputDir = path.join(results.dir, specVersion, scenario);
    const args = [CLI, 'server', '--url', `${proxy.origin}/mcp`, '--scenario', scenario, '--spec-version', specVersion, '-o', outputDir];
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

  it('lists the upstreams’ tools under their own names, and nothing else', async () => {
    const { checks } = await runScenario('tools-list', '2025-11-25');
    const tools = (checks.find((check) => check.id === 'tools-list') as Check & { details?: { tools?: string[] } } | undefined)?.details?.tools;
    assert.deepEqual([...(tools ?? [])].sort(), [
      'json_schema_2020_12_tool', 'test_audio_content', 'test_elicitation', 'test_elicitation_sep1034_defaults',
      'test_elicitation_sep1330_enums', 'test_embedded_resource', 'test_error_handling', 'test_header_parameter',
      'test_image_content', 'test_logging_tool', 'test_missing_capability', 'test_multiple_content_types', 'test_sampling',
      'test_simple_text', 'test_streaming_elicitation', 'test_tool_with_logging', 'test_tool_with_progress', 'test_trigger_prompt_change',
      'test_trigger_tool_change',
      // The 2026-07-28 upstream's: the fixture's own (not `unroutable`, whose x-mcp-header is invalid), and those of the input-required-result-* scenarios.
      'ask_llm', 'echo', 'lookup', 'noisy', 'query', 'slow',
      'test_input_required_result_capabilities', 'test_input_required_result_elicitation', 'test_input_required_result_list_roots',
      'test_input_required_result_multi_round', 'test_input_required_result_multiple_inputs', 'test_input_required_result_request_state',
      'test_input_required_result_sampling', 'test_input_required_result_tampered_state',
    ].sort());
  });

  for (const { specVersion, scenarios, knownGaps } of RUNS) {
    for (const scenario of scenarios) {
      const gaps = knownGaps[scenario] ?? {};
      const what = Object.keys(gaps).length === 0 ? 'every check' : `every check but ${Object.keys(gaps).join(', ')}`;
      it(`passes ${what} of ${scenario} at ${specVersion}`, { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
        const { checks, output, exitCode } = await runScenario(scenario, specVersion);
        const graded = checks.filter((check) => check.status !== 'INFO');
        assert.ok(graded.length > 0, `the suite graded ${scenario}\n${output}`);
        const problems = graded
          .filter((check) => check.status !== 'SUCCESS' && !(check.id in gaps))
          .map((check) => `${check.id} ${check.status}${check.errorMessage ? `: ${check.errorMessage}` : ''}`);
        assert.deepEqual(problems, [], `${scenario}: checks that did not pass\n${output}`);
        const stillFailing = graded.filter((check) => check.id in gaps && check.status !== 'SUCCESS').map((check) => check.id);
        assert.deepEqual([...new Set(stillFailing)].sort(), Object.keys(gaps).sort(), `${scenario}: a known gap now passes; remove it from KNOWN_GAPS`);
        if (Object.keys(gaps).length === 0) assert.equal(exitCode, 0, output);
      });
    }
  }
});

/** Waits until both configured upstreams are connected (the app connects them when it starts). */
async function connected(gatehouse: TestApp): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const states = gatehouse.runtime.upstreams.all().map((item) => item.status().state);
    if (states.length === 2 && states.every((state) => state === 'connected')) return;
    if (Date.now() > deadline) assert.fail(`the conformance upstream did not connect: ${JSON.stringify(states)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
