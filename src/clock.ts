/**
 * The time every service reads, in milliseconds since the epoch. One is built in the runtime (the system clock
 * unless a test hands in its own), so expiry of codes, tokens, grants, sessions and approvals can be tested by
 * moving a clock rather than by rewriting rows or sleeping.
 */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
