import assert from 'node:assert/strict';
import { it } from 'node:test';
import { abortSignalOf, CallAbort } from '../../src/upstream/call-abort.js';

it('tells each abort listener once, with the reason set, and not a listener removed or added after the abort', () => {
  const call = new CallAbort();
  const heard: unknown[] = [];
  const kept = () => heard.push(call.reason);
  const removed = () => heard.push('removed');
  call.addEventListener('abort', kept, { once: true });
  call.addEventListener('abort', removed);
  call.removeEventListener('abort', removed);
  call.abort('the client cancelled');
  call.abort('again');
  call.addEventListener('abort', () => heard.push('late'));
  assert.equal(call.aborted, true);
  assert.deepEqual(heard, ['the client cancelled']);
});

it('gives what needs an AbortSignal one that follows the call, made before or after the abort, with AbortController\'s default reason', () => {
  const before = new CallAbort();
  const signal = before.signal;
  assert.equal(signal.aborted, false);
  before.abort();
  assert.equal(signal.aborted, true);
  assert.ok(signal.reason instanceof DOMException && signal.reason.name === 'AbortError');
  assert.equal(before.reason, signal.reason);

  const after = new CallAbort();
  after.abort('gone');
  assert.equal(after.signal.aborted, true);
  assert.equal(after.signal.reason, 'gone');
  assert.equal(abortSignalOf(after), after.signal);
  const plain = new AbortController().signal;
  assert.equal(abortSignalOf(plain), plain);
});
