import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { createDemoUpstream, DEMO_UPSTREAM_NAME, isoInTimeZone, isKnownTimeZone } from '../../src/upstream/demo.js';

const FIXED_NOW = new Date('2025-03-01T12:34:56.789Z');

function textOf(result: CallToolResult): string {
  const first = result.content[0];
  assert.equal(first?.type, 'text');
  return first.text;
}

describe('built-in demo upstream', () => {
  let client: Client;
  let tools: Tool[];

  before(async () => {
    const server = createDemoUpstream({ now: () => FIXED_NOW });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    client = new Client({ name: 'demo-test', version: '0.0.0' });
    await client.connect(clientSide);
    tools = (await client.listTools()).tools;
  });

  after(async () => {
    await client.close();
  });

  const call = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;

  it('introduces itself as gatehouse-demo', () => {
    assert.equal(client.getServerVersion()?.name, DEMO_UPSTREAM_NAME);
  });

  it('lists echo, add and current_time, each titled, described and marked read-only and closed-world', () => {
    assert.deepEqual(tools.map((t) => t.name).sort(), ['add', 'current_time', 'echo']);
    for (const tool of tools) {
      assert.ok(tool.title, `${tool.name} has a title`);
      assert.ok(tool.description, `${tool.name} has a description`);
      assert.equal(tool.annotations?.readOnlyHint, true, `${tool.name} is read-only`);
      assert.equal(tool.annotations?.openWorldHint, false, `${tool.name} is closed-world`);
      assert.equal(tool.annotations?.destructiveHint, false, `${tool.name} is not destructive`);
    }
  });

  it('declares input schemas with the required arguments, and an output schema for add', () => {
    const byName = new Map(tools.map((t) => [t.name, t]));
    const echo = byName.get('echo')!;
    assert.deepEqual(echo.inputSchema.required, ['text']);
    assert.equal((echo.inputSchema.properties?.text as { type?: string }).type, 'string');

    const add = byName.get('add')!;
    assert.deepEqual([...(add.inputSchema.required ?? [])].sort(), ['a', 'b']);
    assert.equal((add.inputSchema.properties?.a as { type?: string }).type, 'number');
    assert.equal(add.outputSchema?.type, 'object');
    assert.equal((add.outputSchema?.properties?.sum as { type?: string }).type, 'number');

    const time = byName.get('current_time')!;
    assert.ok(time.inputSchema.properties?.timeZone, 'current_time takes a timeZone');
    assert.ok(!(time.inputSchema.required ?? []).includes('timeZone'), 'timeZone is optional');
  });

  it('echo returns its text unchanged', async () => {
    const result = await call('echo', { text: 'hello, gateway ✓' });
    assert.notEqual(result.isError, true);
    assert.equal(textOf(result), 'hello, gateway ✓');
  });

  it('add returns the sum as text and as structured content', async () => {
    const result = await call('add', { a: 2.5, b: -7 });
    assert.notEqual(result.isError, true);
    assert.equal(textOf(result), '-4.5');
    assert.deepEqual(result.structuredContent, { sum: -4.5 });
  });

  it('current_time without a zone returns the current instant in UTC', async () => {
    const result = await call('current_time', {});
    assert.notEqual(result.isError, true);
    assert.equal(textOf(result), '2025-03-01T12:34:56.789Z');
  });

  it('current_time with a zone returns the wall time there with its offset', async () => {
    assert.equal(textOf(await call('current_time', { timeZone: 'Europe/Paris' })), '2025-03-01T13:34:56+01:00');
    assert.equal(textOf(await call('current_time', { timeZone: 'America/New_York' })), '2025-03-01T07:34:56-05:00');
    assert.equal(textOf(await call('current_time', { timeZone: 'UTC' })), '2025-03-01T12:34:56+00:00');
  });

  it('current_time with an unknown zone answers with a readable error result, and the server keeps serving', async () => {
    const result = await call('current_time', { timeZone: 'Mars/Olympus_Mons' });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /Unknown time zone "Mars\/Olympus_Mons".*IANA/);
    assert.equal(textOf(await call('echo', { text: 'still here' })), 'still here');
  });

  it('add with a string argument is refused as invalid input, not computed', async () => {
    const result = await call('add', { a: '2', b: 3 });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /Input validation error/);
    assert.equal(result.structuredContent, undefined);
  });

  it('a missing required argument is refused as invalid input', async () => {
    const result = await call('echo', {});
    assert.equal(result.isError, true);
    assert.match(textOf(result), /Input validation error/);
  });

  it('an unknown tool is answered with an error, and the server keeps serving', async () => {
    const result = await call('rm_rf', {});
    assert.equal(result.isError, true);
    assert.match(textOf(result), /rm_rf not found/);
    assert.deepEqual((await call('add', { a: 1, b: 1 })).structuredContent, { sum: 2 });
  });
});

describe('time zone helpers', () => {
  it('know IANA zones and refuse made-up ones', () => {
    assert.equal(isKnownTimeZone('Asia/Tokyo'), true);
    assert.equal(isKnownTimeZone('Not/AZone'), false);
    assert.equal(isKnownTimeZone(''), false);
  });

  it('format half-hour offsets and date changes across midnight', () => {
    const instant = new Date('2025-01-01T20:00:00Z');
    assert.equal(isoInTimeZone(instant, 'Asia/Kolkata'), '2025-01-02T01:30:00+05:30');
    assert.equal(isoInTimeZone(instant, 'Pacific/Honolulu'), '2025-01-01T10:00:00-10:00');
  });
});
