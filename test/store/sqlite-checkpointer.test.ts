import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkpointPacing } from '../../src/store/sqlite-checkpointer.js';

const PAGE = 4096;
const settings = { intervalMs: 1000, eagerPages: 1000, pageSize: PAGE };
/** The pacing after its first round, a checkpoint at t=0 that copied the whole WAL (`version` 1) of `log` frames. */
function afterFirstRound(log: number, walBytes = 0) {
  const pacing = checkpointPacing(settings, { now: -100, walBytes });
  assert.equal(pacing.due(0, walBytes), true, 'the first poll is due');
  assert.equal(pacing.mustCheckpoint(0, 1), true, 'nothing was copied yet');
  pacing.checkpointed(0, 1, { log, checkpointed: log });
  return pacing;
}

describe('checkpoint pacing', () => {
  it('after a round that found no frames, the next is due a full interval later, not before', () => {
    const pacing = afterFirstRound(0);
    assert.equal(pacing.due(999, 0), false);
    assert.equal(pacing.due(1000, 0), true);
  });

  it('frames that came fast bring the next round sooner: the interval in which eagerPages would come', () => {
    // 500 frames in the 100 ms before the round: 5 a ms, so 1,000 frames in 200 ms.
    const pacing = afterFirstRound(500);
    assert.equal(pacing.due(199, 0), false);
    assert.equal(pacing.due(200, 0), true);
  });

  it('frames that came slowly never put the next round later than the interval', () => {
    const pacing = afterFirstRound(1);
    assert.equal(pacing.due(999, 0), false);
    assert.equal(pacing.due(1000, 0), true);
  });

  it('a WAL grown by eagerPages since the last round makes a round due at once', () => {
    const pacing = afterFirstRound(0, 10 * PAGE);
    assert.equal(pacing.due(50, 10 * PAGE + (1000 * PAGE - 1)), false, 'one byte short');
    assert.equal(pacing.due(50, 10 * PAGE + 1000 * PAGE), true);
    assert.equal(pacing.due(60, 10 * PAGE + 1000 * PAGE), false, 'the growth counts once: the next round waits for the interval or new growth');
  });

  it('a due round with the store unchanged since the whole WAL was copied does nothing, and the next poll is due again', () => {
    const pacing = afterFirstRound(0);
    assert.equal(pacing.due(1000, 0), true);
    assert.equal(pacing.mustCheckpoint(1000, 1), false, 'data_version unchanged: no checkpoint');
    assert.equal(pacing.due(1001, 0), true, 'the rate is unknown: the next commit is checkpointed at the next poll');
    assert.equal(pacing.mustCheckpoint(1001, 2), true, 'a commit since: checkpoint');
  });

  it('a checkpoint a reader held back is run again on the next due round, with nothing committed since', () => {
    const pacing = checkpointPacing(settings, { now: -100, walBytes: 0 });
    assert.equal(pacing.due(0, 0), true);
    pacing.checkpointed(0, 1, { log: 40, checkpointed: 10 });
    assert.equal(pacing.due(1000, 0), true);
    assert.equal(pacing.mustCheckpoint(1000, 1), true, 'the same data_version, but the WAL was not all copied');
    pacing.checkpointed(1000, 1, { log: 40, checkpointed: 40 });
    assert.equal(pacing.due(2000, 0), true);
    assert.equal(pacing.mustCheckpoint(2000, 1), false, 'now all copied: nothing to do');
  });

  it('runs from its source alone, as the worker runs it', () => {
    // What the worker does with it (sqlite-checkpointer.ts WORKER_SOURCE): nothing from outside its body but the name helper.
    const fromSource = new Function('__name', `return (${checkpointPacing});`)((target: unknown) => target) as typeof checkpointPacing;
    const pacing = fromSource(settings, { now: 0, walBytes: 0 });
    assert.equal(pacing.due(0, 0), true);
    pacing.checkpointed(0, 1, { log: 0, checkpointed: 0 });
    assert.equal(pacing.due(500, 0), false);
  });
});
