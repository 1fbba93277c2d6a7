import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Registry } from 'prom-client';
import { withToolCallMetrics } from '../../src/gateway/tool-call-metrics.js';
import type { ToolCallEntry } from '../../src/gateway/tool-call-audit.js';

const entry = (tool: string, outcome: ToolCallEntry['outcome']): ToolCallEntry => ({
  principal: { userId: 'usr_a', clientId: 'cli_a' },
  upstream: { id: 'ups_a', settings: { name: 'files' } },
  tool,
  outcome,
  durationMs: 12,
});

it('count every call by upstream, tool and outcome, each call once however often the metrics are read', async () => {
  const registry = new Registry();
  const audit = withToolCallMetrics({ record: async () => undefined }, registry);
  const count = async (tool: string, outcome: string) =>
    (await registry.getSingleMetric('gatehouse_mcp_tool_calls_total')!.get()).values.find((value) => value.labels.tool === tool && value.labels.outcome === outcome)?.value;
  await audit.record(entry('read', 'ok'));
  await audit.record(entry('read', 'ok'));
  await audit.record(entry('read', 'denied'));
  assert.equal(await count('read', 'ok'), 2);
  assert.equal(await count('read', 'ok'), 2);
  await audit.record(entry('read', 'ok'));
  await audit.record(entry('write', 'tool_error'));
  assert.equal(await count('read', 'ok'), 3);
  assert.equal(await count('read', 'denied'), 1);
  assert.equal(await count('write', 'tool_error'), 1);
  assert.match(await registry.metrics(), /^gatehouse_mcp_tool_calls_total\{upstream="files",tool="read",outcome="ok"\} 3$/m);
});
