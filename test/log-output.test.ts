import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { boundedLogOutput } from '../src/log-output.js';
import { createServerLog } from '../src/log.js';

/** A stream whose reader is stuck until `drain()`: each write completes only then. */
function stuckStream() {
  const written: string[] = [];
  let pending: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk, _encoding, done) {
      written.push(String(chunk));
      pending.push(done);
    },
  });
  const drainOne = () => pending.shift()?.();
  return {
    stream,
    written,
    /** Lets the reader take everything, one write at a time as a stream does. */
    async drain() {
      while (pending.length > 0 || stream.writableLength > 0) {
        drainOne();
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('bounded log output', () => {
  it('while the reader is stuck, lines beyond the bound are dropped and counted, not kept', async () => {
    const reader = stuckStream();
    const output = boundedLogOutput(reader.stream, { maxBufferedChars: 100 });
    for (let i = 0; i < 50; i++) output.write(`line ${String(i).padStart(3, '0')} ${'x'.repeat(10)}\n`);
    assert.ok(output.bufferedChars <= 100, `${output.bufferedChars} chars wait`);
    assert.equal(output.droppedLines, 50 - Math.floor(100 / 20));
    await reader.drain();
    assert.equal(output.bufferedChars, 0);
  });

  it('one warning with the count when the reader catches up, then lines flow again', async () => {
    const reader = stuckStream();
    const recovered: number[] = [];
    const output = boundedLogOutput(reader.stream, { maxBufferedChars: 40, onRecovered: (dropped) => recovered.push(dropped) });
    for (let i = 0; i < 6; i++) output.write(`${'y'.repeat(19)}\n`);
    assert.equal(output.droppedLines, 4);
    await reader.drain();
    assert.deepEqual(recovered, [4], 'once, with the spell\'s count');
    output.write('after\n');
    await reader.drain();
    assert.equal(reader.written.at(-1), 'after\n');
    assert.deepEqual(recovered, [4]);
  });

  it('drained() waits for the reader and resolves at once when nothing waits', async () => {
    const reader = stuckStream();
    const output = boundedLogOutput(reader.stream);
    await output.drained();
    output.write('a line\n');
    let done = false;
    void output.drained().then(() => (done = true));
    await settle();
    assert.equal(done, false);
    await reader.drain();
    assert.equal(done, true);
  });

  it('a stream that fails (a closed reader) does not throw: later lines are dropped and drained() resolves', async () => {
    const stream = new Writable({ write: (_chunk, _encoding, done) => done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
    const output = boundedLogOutput(stream);
    output.write('first\n');
    await settle();
    output.write('second\n');
    assert.equal(output.droppedLines, 1);
    await output.drained();
  });

  it('the server log writes pino JSON through it and its warning says how many lines were dropped', async () => {
    const reader = stuckStream();
    const { logger, output } = createServerLog({ logLevel: 'info' }, reader.stream, { maxBufferedChars: 400 });
    for (let i = 0; i < 20; i++) logger.info({ i }, 'busy');
    const dropped = output.droppedLines;
    assert.ok(dropped > 0);
    await reader.drain();
    const warning = reader.written.map((line) => JSON.parse(line) as { level: number; msg: string; droppedLines?: number }).find((line) => line.level === 40)!;
    assert.equal(warning.droppedLines, dropped);
    assert.equal(warning.msg, `log output was blocked: ${dropped} lines were dropped`);
  });
});
