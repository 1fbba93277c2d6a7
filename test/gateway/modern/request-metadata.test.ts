import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import {
  checkParamHeaders,
  checkRequest,
  HEADER_MISMATCH,
  isModernRequest,
  UNSUPPORTED_PROTOCOL_VERSION,
  withoutProtocolMeta,
} from '../../../src/gateway/modern/request-metadata.js';

const VERSION = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': VERSION, 'io.modelcontextprotocol/clientCapabilities': {} };
const call = (name: string, extra: Record<string, unknown> = {}): JSONRPCRequest => ({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {}, _meta: META, ...extra } });
const headersFor = (method: string, extra: Record<string, string> = {}) => ({ 'mcp-protocol-version': VERSION, 'mcp-method': method, ...extra });
const refusalOf = (outcome: ReturnType<typeof checkRequest>) => ('refusal' in outcome ? outcome.refusal : undefined);
const base64 = (text: string) => `=?base64?${Buffer.from(text).toString('base64')}?=`;

describe('which era a request belongs to', () => {
  it('a session id, an initialize request or a 2025 protocol version keep the 2025 semantics', () => {
    const list = [{ jsonrpc: '2.0' as const, id: 1, method: 'tools/list', params: { _meta: META } }];
    assert.equal(isModernRequest('POST', { 'mcp-session-id': 'abc', 'mcp-protocol-version': VERSION }, list), false);
    assert.equal(isModernRequest('POST', { 'mcp-protocol-version': '2025-11-25' }, list), false);
    const initialize = { jsonrpc: '2.0' as const, id: 1, method: 'initialize', params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'c', version: '1' } } };
    assert.equal(isModernRequest('POST', { 'mcp-protocol-version': VERSION }, [initialize]), false);
    assert.equal(isModernRequest('GET', { 'mcp-protocol-version': VERSION }, []), false);
  });

  it('any other version header, or the per-request _meta without one, is a 2026-07-28 request', () => {
    assert.equal(isModernRequest('POST', { 'mcp-protocol-version': VERSION }, []), true);
    assert.equal(isModernRequest('POST', { 'mcp-protocol-version': 'v999.0.0' }, []), true);
    assert.equal(isModernRequest('POST', {}, [{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } }]), true);
    assert.equal(isModernRequest('POST', {}, [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }]), false);
  });
});

describe('the headers and _meta of a 2026-07-28 request', () => {
  it('accepts matching headers, header names in any case having been lowered by Node, values with surrounding whitespace', () => {
    const outcome = checkRequest(headersFor('tools/call', { 'mcp-name': '  weather_get  ' }), call('weather_get'));
    assert.ok('meta' in outcome);
    assert.equal(outcome.meta.protocolVersion, VERSION);
  });

  it('refuses a missing or different Mcp-Method, case included, with 400 and -32020', () => {
    const list: JSONRPCRequest = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } };
    for (const headers of [{ 'mcp-protocol-version': VERSION }, headersFor('prompts/list'), headersFor('TOOLS/LIST')]) {
      const refusal = refusalOf(checkRequest(headers, list));
      assert.deepEqual({ status: refusal?.status, code: refusal?.code }, { status: 400, code: HEADER_MISMATCH }, JSON.stringify(headers));
    }
  });

  it('checks Mcp-Name against the exposed (prefixed) name in the body, decoding the Base64 sentinel', () => {
    assert.equal(refusalOf(checkRequest(headersFor('tools/call', { 'mcp-name': 'weather_get' }), call('weather_get'))), undefined);
    assert.equal(refusalOf(checkRequest(headersFor('tools/call', { 'mcp-name': 'get' }), call('weather_get')))?.code, HEADER_MISMATCH, 'the upstream’s own name is not the exposed one');
    assert.equal(refusalOf(checkRequest(headersFor('tools/call'), call('weather_get')))?.code, HEADER_MISMATCH, 'missing');
    assert.equal(refusalOf(checkRequest(headersFor('tools/call', { 'mcp-name': base64('wetter_größe') }), call('wetter_größe'))), undefined);
    assert.equal(refusalOf(checkRequest(headersFor('tools/call', { 'mcp-name': '=?base64?d2VhdGhlcl9nZXQ?=' }), call('weather_get')))?.code, HEADER_MISMATCH, 'unpadded');
  });

  it('refuses a request without its _meta fields with 400 and -32602, and a version header unlike _meta with -32020', () => {
    const bare: JSONRPCRequest = { jsonrpc: '2.0', id: 1, method: 'server/discover', params: {} };
    assert.deepEqual(refusalOf(checkRequest(headersFor('server/discover'), bare))?.code, -32602);
    const noCapabilities: JSONRPCRequest = { ...bare, params: { _meta: { 'io.modelcontextprotocol/protocolVersion': VERSION } } };
    assert.equal(refusalOf(checkRequest(headersFor('server/discover'), noCapabilities))?.status, 400);
    const other: JSONRPCRequest = { ...bare, params: { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } } };
    assert.equal(refusalOf(checkRequest(headersFor('server/discover'), other))?.code, HEADER_MISMATCH);
  });

  it('answers a version it does not serve with -32022 listing the supported ones and echoing the requested one', () => {
    const request: JSONRPCRequest = { jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } } };
    const refusal = refusalOf(checkRequest({ 'mcp-protocol-version': 'v999.0.0', 'mcp-method': 'server/discover' }, request));
    assert.deepEqual(refusal, { status: 400, code: UNSUPPORTED_PROTOCOL_VERSION, message: 'Unsupported protocol version v999.0.0', data: { supported: [VERSION], requested: 'v999.0.0' } });
  });
});

describe('Mcp-Param headers of a tool call', () => {
  const schema = {
    type: 'object',
    properties: { region: { type: 'string', 'x-mcp-header': 'Region' }, limit: { type: 'integer', 'x-mcp-header': 'Limit' }, where: { type: 'object', properties: { zone: { type: 'string', 'x-mcp-header': 'Zone' } } } },
  };

  it('accepts headers equal to the arguments, decoded, integers compared as numbers, nested properties followed', () => {
    const headers = { 'mcp-param-region': base64(' padded '), 'mcp-param-limit': '42.0', 'mcp-param-zone': 'b' };
    assert.equal(checkParamHeaders(headers, schema, { region: ' padded ', limit: 42, where: { zone: 'b' } }), undefined);
    assert.equal(checkParamHeaders({}, schema, {}), undefined, 'no value, no header expected');
    assert.equal(checkParamHeaders({ 'mcp-param-region': '=?base64?SGVsbG8=' }, schema, { region: '=?base64?SGVsbG8=' }), undefined, 'no suffix: a literal');
  });

  it('refuses an omitted header, a different value, invalid Base64 and a header without its argument', () => {
    assert.equal(checkParamHeaders({}, schema, { region: 'eu' })?.code, HEADER_MISMATCH);
    assert.equal(checkParamHeaders({ 'mcp-param-region': 'us' }, schema, { region: 'eu' })?.code, HEADER_MISMATCH);
    assert.equal(checkParamHeaders({ 'mcp-param-region': '=?base64?SGVs!!!bG8=?=' }, schema, { region: 'Hello' })?.code, HEADER_MISMATCH);
    assert.equal(checkParamHeaders({ 'mcp-param-region': 'eu' }, schema, {})?.code, HEADER_MISMATCH);
  });
});

describe('the _meta that goes on to an upstream', () => {
  it('keeps the trace context and the progress token, never the client’s protocol metadata', () => {
    const params = withoutProtocolMeta({ name: 't', _meta: { ...META, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', progressToken: 3 } });
    assert.deepEqual(params, { name: 't', _meta: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', progressToken: 3 } });
    assert.deepEqual(withoutProtocolMeta({ name: 't', _meta: META }), { name: 't' });
  });
});
