import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeHeaderValue, encodeHeaderValue, paramHeaderDeclarations, paramHeaders } from '../../src/http/mcp-headers.js';

const schemaWith = (properties: Record<string, unknown>) => ({ type: 'object', properties });
const problemsOf = (schema: unknown) => paramHeaderDeclarations(schema).problems;

describe('MCP header values', () => {
  it('are carried as they are when plain visible ASCII, else in the Base64 sentinel form (also when they look encoded)', () => {
    assert.equal(encodeHeaderValue('us-west1'), 'us-west1');
    assert.equal(encodeHeaderValue('us west 1'), 'us west 1');
    assert.equal(encodeHeaderValue('Hello, 世界'), '=?base64?SGVsbG8sIOS4lueVjA==?=');
    assert.equal(encodeHeaderValue(' padded '), '=?base64?IHBhZGRlZCA=?=');
    assert.equal(encodeHeaderValue('line1\nline2'), '=?base64?bGluZTEKbGluZTI=?=');
    assert.equal(encodeHeaderValue('\tindented'), '=?base64?CWluZGVudGVk?=');
    assert.equal(encodeHeaderValue('=?base64?literal?='), '=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=');
    assert.equal(encodeHeaderValue(''), '=?base64??=');
  });

  it('decode back to what was encoded, and an undecodable sentinel to null', () => {
    for (const value of ['us-west1', 'Hello, 世界', ' padded ', 'line1\r\nline2', '=?base64?literal?=', '']) assert.equal(decodeHeaderValue(encodeHeaderValue(value)), value);
    assert.equal(decodeHeaderValue('=?base64?not base64!?='), null);
    assert.equal(decodeHeaderValue('=?base64?/w==?='), null); // 0xff is no UTF-8
  });
});

describe('x-mcp-header declarations', () => {
  it('name the parameters reachable through properties alone, nested ones included, and nothing else', () => {
    const schema = {
      type: 'object',
      properties: {
        zone: { 'x-mcp-header': 'Zone', type: 'string' },
        dryRun: { 'x-mcp-header': 'Dry-Run', type: ['null', 'boolean'] },
        target: { type: 'object', properties: { team: { type: 'object', properties: { id: { 'x-mcp-header': 'Team', type: 'integer' } } } } },
        body: { type: 'string', description: 'not mirrored' },
        // A property named like the keyword, and instance data that holds it, declare nothing.
        'x-mcp-header': { type: 'string', default: 'x', examples: [{ 'x-mcp-header': 'Example' }] },
      },
    };
    assert.deepEqual(paramHeaderDeclarations(schema), {
      declared: [
        { path: ['zone'], name: 'Zone' },
        { path: ['dryRun'], name: 'Dry-Run' },
        { path: ['target', 'team', 'id'], name: 'Team' },
      ],
      problems: [],
    });
    assert.deepEqual(paramHeaderDeclarations({ type: 'object' }), { declared: [], problems: [] });
  });

  it('are invalid when empty, not a token (space, colon, non-ASCII, control character) or not a string', () => {
    for (const name of ['', 'My Region', 'Region:Primary', 'Région', 'Region\t1', 'Region\r\n', 42]) {
      assert.equal(problemsOf(schemaWith({ value: { type: 'string', 'x-mcp-header': name } })).length, 1, JSON.stringify(name));
    }
  });

  it('are invalid on a parameter that is not a string, integer or boolean (number, object, array, null, untyped)', () => {
    for (const type of ['number', 'object', 'array', 'null', undefined, ['string', 'number'], ['null']]) {
      assert.equal(problemsOf(schemaWith({ value: { type, 'x-mcp-header': 'Value' } })).length, 1, JSON.stringify(type));
    }
  });

  it('are invalid when two share a name, whatever its case', () => {
    assert.match(problemsOf(schemaWith({ a: { type: 'string', 'x-mcp-header': 'MyField' }, b: { type: 'string', 'x-mcp-header': 'myfield' } }))[0]!, /repeats that of a/);
  });

  it('are invalid anywhere but on a property reached through properties: items, composition, conditionals, $defs, the root', () => {
    const annotated = { type: 'string', 'x-mcp-header': 'Hidden' };
    const elsewhere = [
      schemaWith({ list: { type: 'array', items: { type: 'object', properties: { a: annotated } } } }),
      { type: 'object', anyOf: [schemaWith({ a: annotated })] },
      { type: 'object', if: schemaWith({ a: annotated }), then: {} },
      { type: 'object', $defs: { hidden: annotated }, properties: { a: { $ref: '#/$defs/hidden' } } },
      { ...annotated, type: 'object' },
    ];
    for (const schema of elsewhere) assert.equal(problemsOf(schema).length, 1, JSON.stringify(schema));
  });
});

describe('Mcp-Param headers of a call', () => {
  const declared = paramHeaderDeclarations({
    type: 'object',
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      priority: { type: 'integer', 'x-mcp-header': 'Priority' },
      debug: { type: 'boolean', 'x-mcp-header': 'Debug' },
      greeting: { type: 'string', 'x-mcp-header': 'Greeting' },
      scope: { type: 'object', properties: { owner: { type: 'string', 'x-mcp-header': 'Owner' } } },
    },
  }).declared;

  it('carry each declared value with one, as a string, encoded; absent and null values have none', () => {
    assert.deepEqual(paramHeaders(declared, { region: 'us-west1', priority: -7, debug: false, greeting: 'Hello, 世界', scope: { owner: 'ann' }, other: 'x' }), {
      headers: {
        'mcp-param-region': 'us-west1',
        'mcp-param-priority': '-7',
        'mcp-param-debug': 'false',
        'mcp-param-greeting': '=?base64?SGVsbG8sIOS4lueVjA==?=',
        'mcp-param-owner': 'ann',
      },
    });
    assert.deepEqual(paramHeaders(declared, { region: 'eu', debug: null, scope: null }), { headers: { 'mcp-param-region': 'eu' } });
    assert.deepEqual(paramHeaders(declared, undefined), { headers: {} });
  });

  it('refuse a value no header can carry: an object, a fraction, an integer beyond 2^53 - 1', () => {
    for (const priority of [{ level: 1 }, 3.5, 2 ** 53]) assert.ok('invalid' in paramHeaders(declared, { priority }), JSON.stringify(priority));
  });
});
