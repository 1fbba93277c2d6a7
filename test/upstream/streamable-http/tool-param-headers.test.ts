import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Result } from '@modelcontextprotocol/sdk/types.js';
import { directRequests, type DirectRequests } from '../../../src/upstream/streamable-http/direct-requests.js';
import { negotiateEra } from '../../../src/upstream/streamable-http/era-negotiation.js';
import { ToolParamHeaders } from '../../../src/upstream/streamable-http/tool-param-headers.js';
import { startStatelessUpstream, type StatelessUpstream } from '../../fixtures/upstreams/stateless-server.js';

const options = () => ({ signal: AbortSignal.timeout(5000), timeoutMs: 5000 });
const textOf = (result: Result) => (result.content as Array<{ text: string }>)[0]!.text;

async function statelessDirect(url: string): Promise<DirectRequests> {
  const direct = directRequests({ url: new URL(url), headers: {}, transport: new StreamableHTTPClientTransport(new URL(url)) });
  assert.equal((await negotiateEra(direct, { name: 'gatehouse', version: 'test' }, 5000)).era, 'stateless');
  return direct;
}

describe('x-mcp-header towards a stateless upstream', () => {
  const closers: Array<() => unknown> = [];
  after(async () => {
    for (const close of closers) await close();
  });

  async function fixture(): Promise<{ upstream: StatelessUpstream; direct: DirectRequests }> {
    const upstream = await startStatelessUpstream();
    const direct = await statelessDirect(upstream.url);
    closers.push(() => upstream.close(), () => direct.close());
    return { upstream, direct };
  }

  it('leaves tools with invalid declarations out of a listing, saying which and why, and keeps the others as they came', async () => {
    const { direct } = await fixture();
    const book = new ToolParamHeaders();
    const listed = await direct.request({ method: 'tools/list', params: {} }, { ...options(), onServerRequest: async () => ({}) });
    const rejected: string[] = [];
    const admitted = book.admit(listed, true, (tool, reason) => rejected.push(`${tool}: ${reason}`));
    const names = (admitted.tools as Array<{ name: string }>).map((tool) => tool.name);
    assert.deepEqual(names, ['echo', 'slow', 'ask_llm', 'noisy', 'query', 'lookup']);
    assert.deepEqual(rejected, ['unroutable: x-mcp-header Score annotates score, which is not a string, integer or boolean']);
    assert.deepEqual(admitted.tools, (listed.tools as Array<{ name: string }>).filter((tool) => tool.name !== 'unroutable'));
  });

  it('lists the tools before a first call, and mirrors the declared arguments into Mcp-Param headers the upstream accepts', async () => {
    const { upstream, direct } = await fixture();
    const book = new ToolParamHeaders();
    const args = { region: 'Zürich', limit: 10, verbose: null, scope: { owner: 'ann' }, sql: 'SELECT 1' };
    const result = await book.call(direct, { method: 'tools/call', params: { name: 'query', arguments: args } }, options());
    assert.equal(textOf(result), 'ran SELECT 1 in Zürich');
    assert.deepEqual(upstream.requests.map((request) => request.body.method), ['server/discover', 'tools/list', 'tools/call']);
    const headers = upstream.requests.at(-1)!.headers;
    assert.deepEqual(Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('mcp-param-'))), {
      'mcp-param-region': '=?base64?WsO8cmljaA==?=',
      'mcp-param-limit': '10',
      'mcp-param-owner': 'ann',
    });
    // Known now: the next call is sent at once.
    await book.call(direct, { method: 'tools/call', params: { name: 'query', arguments: { region: 'eu', verbose: true, sql: 'SELECT 2' } } }, options());
    assert.equal(upstream.requests.filter((request) => request.body.method === 'tools/list').length, 1);
    assert.equal(upstream.requests.at(-1)!.headers['mcp-param-verbose'], 'true');
  });

  it('does not call a tool it left out, nor send an argument no header can carry', async () => {
    const { upstream, direct } = await fixture();
    const book = new ToolParamHeaders();
    await assert.rejects(book.call(direct, { method: 'tools/call', params: { name: 'unroutable', arguments: { score: 1.5 } } }, options()), /x-mcp-header declarations are invalid/);
    await assert.rejects(book.call(direct, { method: 'tools/call', params: { name: 'query', arguments: { region: { nested: true }, sql: 'x' } } }, options()), /argument region must be a string/);
    assert.equal(upstream.requests.filter((request) => request.body.method === 'tools/call').length, 0);
  });

  it('lists again after a HeaderMismatch and sends the call once more when the tool’s declarations changed', async () => {
    // An upstream whose tool renamed its header between the listing Gatehouse holds and the call.
    let header = 'Region';
    let refuseAll = false;
    const calls: Array<Record<string, unknown>> = [];
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: unknown; method: string };
      const answer = (message: object, status = 200) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: body.id, ...message }));
      if (body.method === 'server/discover') return answer({ result: { resultType: 'complete', supportedVersions: ['2026-07-28'], capabilities: { tools: {} } } });
      if (body.method === 'tools/list') {
        const tool = { name: 'where', inputSchema: { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': header } } } };
        return answer({ result: { resultType: 'complete', tools: [tool] } });
      }
      calls.push(req.headers);
      if (refuseAll || req.headers[`mcp-param-${header.toLowerCase()}`] !== 'eu') return answer({ error: { code: -32020, message: `Header mismatch: Mcp-Param-${header}` } }, 400);
      return answer({ result: { resultType: 'complete', content: [{ type: 'text', text: 'ok' }] } });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const direct = await statelessDirect(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
    closers.push(() => direct.close());
    const book = new ToolParamHeaders();
    const call = () => book.call(direct, { method: 'tools/call', params: { name: 'where', arguments: { region: 'eu' } } }, options());
    await call();
    header = 'Zone';
    assert.equal(textOf(await call()), 'ok');
    assert.deepEqual(calls.map((headers) => [headers['mcp-param-region'], headers['mcp-param-zone']]), [['eu', undefined], ['eu', undefined], [undefined, 'eu']]);
    // A refusal that listing again does not explain stands: the call is not sent again.
    refuseAll = true;
    await assert.rejects(call(), /Header mismatch/);
    assert.equal(calls.length, 4);
  });
});
