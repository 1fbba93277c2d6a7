import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hasTokenShape, issueTimeOf, issueToken, newId, randomSlice, timeOrderedId, tokenPrefixes } from '../../src/crypto/random.js';

it('a token is its typed prefix and 43 base64url characters (256 bits)', () => {
  for (const kind of Object.keys(tokenPrefixes) as (keyof typeof tokenPrefixes)[]) {
    const token = issueToken(kind);
    const prefix = tokenPrefixes[kind];
    assert.ok(token.startsWith(prefix), token);
    const body = token.slice(prefix.length);
    assert.match(body, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(body, 'base64url').length, 32);
    assert.equal(hasTokenShape(token, kind), true);
  }
});

it('tokens do not repeat', () => {
  const tokens = new Set(Array.from({ length: 1000 }, () => issueToken('apiKey')));
  assert.equal(tokens.size, 1000);
});

it('hasTokenShape refuses another kind, a short body and foreign characters', () => {
  const key = issueToken('apiKey');
  assert.equal(hasTokenShape(key, 'browserSession'), false);
  assert.equal(hasTokenShape(key.slice(0, -1), 'apiKey'), false);
  assert.equal(hasTokenShape(`${key.slice(0, -1)}+`, 'apiKey'), false);
});

it('a token issued with its time carries it as 11 hex digits before its 256 random bits, and sorts by it', () => {
  const at = Date.UTC(2026, 11, 5);
  const token = issueToken('refreshToken', at);
  assert.match(token, /^gth_rt_[0-9a-f]{11}[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(token.slice(-43), 'base64url').length, 32);
  assert.equal(hasTokenShape(token, 'refreshToken'), true);
  const time = issueTimeOf(token, 'refreshToken');
  assert.equal(time, at.toString(16).padStart(11, '0'));
  assert.equal(issueTimeOf(issueToken('refreshToken'), 'refreshToken'), undefined, 'a token issued without a time has none');
  assert.equal(issueTimeOf(token, 'apiKey'), undefined, 'nor one of another kind');
  const later = [at + 1, at + 86_400_000, Date.UTC(2500, 0, 1)].map((next) => issueTimeOf(issueToken('refreshToken', next), 'refreshToken')!);
  assert.deepEqual([...later, time].sort(), [time, ...later]);
  assert.equal(hasTokenShape(`gth_rt_${'G'.repeat(54)}`, 'refreshToken'), false, 'the digits before the random part are hex');
});

it('ids carry their tag and 128 random bits', () => {
  const id = newId('usr');
  assert.match(id, /^usr_[A-Za-z0-9_-]{22}$/);
  assert.notEqual(newId('usr'), id);
});

it('time-ordered ids carry their tag, sort by their time and do not repeat within one millisecond', () => {
  const at = Date.UTC(2026, 11, 5);
  const id = timeOrderedId('call', at);
  assert.match(id, /^call_[0-9a-f]{11}[A-Za-z0-9_-]{16}$/);
  const later = [at + 1, at + 1000, at + 86_400_000, Date.UTC(2500, 0, 1)].map((time) => timeOrderedId('call', time));
  assert.deepEqual([...later, id].sort(), [id, ...later]);
  assert.equal(new Set(Array.from({ length: 1000 }, () => timeOrderedId('call', at))).size, 1000);
});

it('random slices are never handed out twice nor changed by later draws, across many blocks', () => {
  const slices = Array.from({ length: 2000 }, (_, index) => randomSlice(12 + (index % 3) * 10));
  const copies = slices.map((slice) => Buffer.from(slice));
  randomSlice(64 * 1024);
  Array.from({ length: 2000 }, () => randomSlice(32));
  assert.ok(slices.every((slice, index) => slice.equals(copies[index]!)));
  assert.equal(new Set(copies.map((copy) => copy.toString('hex'))).size, copies.length);
  assert.equal(randomSlice(64 * 1024).length, 64 * 1024);
});
