import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { answerHolds, checkpointPacing } from '../../src/store/sqlite-checkpointer.js';

const PAGE = 4096;
const settings = { intervalMs: 1000, eagerPages: 1000, pageSize: PAGE, restartPages: 4000, tailPages: 256 };
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

describe('restarting the WAL under a steady write load', () => {
  const restartSettings = { ...settings, restartPages: 4000, tailPages: 256 };

  it('is due once a round found restartPages frames in the WAL', () => {
    const pacing = checkpointPacing(restartSettings, { now: 0, walBytes: 0 });
    assert.equal(pacing.restartDue({ log: 3999, checkpointed: 3999 }), false);
    assert.equal(pacing.restartDue({ log: 4000, checkpointed: 4000 }), true);
  });

  it('copies again beside the writer while a pass found many new frames, and holds it once they were few', () => {
    const pacing = checkpointPacing(restartSettings, { now: 0, walBytes: 0 });
    assert.equal(pacing.afterPass({ log: 5000, checkpointed: 5000 }, { log: 5600, checkpointed: 5600 }), 'again', '600 frames came meanwhile');
    assert.equal(pacing.afterPass({ log: 5600, checkpointed: 5600 }, { log: 5856, checkpointed: 5856 }), 'hold', '256 came: the last ones are copied while the writer waits');
    assert.equal(pacing.afterPass({ log: 5856, checkpointed: 5856 }, { log: 5856, checkpointed: 5856 }), 'hold', 'none came: a hold still makes sure none comes before the next transaction');
  });

  it('stops when the WAL began again meanwhile, or the checkpoint could not run', () => {
    const pacing = checkpointPacing(restartSettings, { now: 0, walBytes: 0 });
    assert.equal(pacing.afterPass({ log: 5000, checkpointed: 5000 }, { log: 120, checkpointed: 120 }), 'restarted');
    assert.equal(pacing.afterPass({ log: 5000, checkpointed: 5000 }, { log: -1, checkpointed: -1 }), 'restarted', 'busy: another checkpoint ran');
  });

  it('does not hold the writer for frames a reader keeps from being copied', () => {
    const pacing = checkpointPacing(restartSettings, { now: 0, walBytes: 0 });
    assert.equal(pacing.afterPass({ log: 5000, checkpointed: 4900 }, { log: 5100, checkpointed: 4900 }), 'blocked');
  });
});

describe("the writer's half of a hold", () => {
  /** A writer that records what it was asked; its hold resolves when the test says (the open batch committed). */
  function recordingWriter() {
    const events: string[] = [];
    let quiet!: () => void;
    let asked!: () => void;
    let released!: () => void;
    return {
      events,
      commitOpenBatch: () => quiet(),
      holdAsked: new Promise<void>((resolve) => (asked = resolve)),
      released: new Promise<void>((resolve) => (released = resolve)),
      writer: {
        hold: () => {
          events.push('hold');
          asked();
          return new Promise<void>((resolve) => (quiet = resolve));
        },
        release: () => {
          events.push('release');
          released();
        },
      },
    };
  }
  const nextMessage = (port: MessagePort) => new Promise((resolve) => port.once('message', resolve));
  const turns = async (count: number) => {
    for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('answers held only once the writer is quiet, and lets it go on release', async () => {
    const { port1: checkpointer, port2: writerSide } = new MessageChannel();
    const recorded = recordingWriter();
    answerHolds(writerSide, recorded.writer);
    try {
      let answered = false;
      const held = nextMessage(checkpointer).then((message) => ((answered = true), message));
      checkpointer.postMessage('hold');
      await recorded.holdAsked;
      await turns(5);
      assert.equal(answered, false, 'the writer is still committing its open batch');
      recorded.commitOpenBatch();
      assert.equal(await held, 'held');
      checkpointer.postMessage('release');
      await recorded.released;
      assert.deepEqual(recorded.events, ['hold', 'release']);
    } finally {
      checkpointer.close();
    }
  });

  it('lets the writer go after the limit when the checkpointer never answers', async () => {
    const { port1: checkpointer, port2: writerSide } = new MessageChannel();
    const recorded = recordingWriter();
    answerHolds(writerSide, recorded.writer, 50);
    try {
      const held = nextMessage(checkpointer);
      checkpointer.postMessage('hold');
      await recorded.holdAsked;
      recorded.commitOpenBatch();
      await held;
      const heldAt = Date.now();
      await recorded.released;
      assert.ok(Date.now() - heldAt >= 45, 'not before the limit');
      assert.deepEqual(recorded.events, ['hold', 'release']);
    } finally {
      checkpointer.close();
    }
  });
});
