import type { Clock } from '../../src/clock.js';

/** A clock a test moves forward: the system's time plus what the test has advanced it by, so time still flows. */
export interface TestClock extends Clock {
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  const clock = () => Date.now() + offset;
  return Object.assign(clock, {
    advance(ms: number) {
      offset += ms;
    },
  });
}
