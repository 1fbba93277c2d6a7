import type { Config } from '../config.js';
import type { LoginFailureRecord, LoginFailureStore, UserRecord, UserStore } from '../store/index.js';
import { isActiveUser } from './active-user.js';
import { decoyHash, verifyPassword } from './password.js';
import { normaliseUsername } from './users.js';

export type LoginOutcome =
  | { ok: true; user: UserRecord }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

export interface PasswordLogin {
  /** Checks a username and password, throttled per client IP and per account with a growing delay. */
  attempt(username: string, password: string, ip: string): Promise<LoginOutcome>;
}

type Policy = Config['loginThrottle'];
type Reservation = { ok: true } | { ok: false; retryAfterSeconds: number };

/** A failure older than this no longer counts; its row may then go. */
export const FORGET_AFTER_MS = 24 * 3600 * 1000;

/** Failures up to `free` cost nothing; each one after doubles the wait, up to `maxSeconds`. */
export function throttleDelayMs(failures: number, free: number, maxSeconds: number): number {
  if (failures < free) return 0;
  return Math.min(maxSeconds, 2 ** (failures - free)) * 1000;
}

/** The count as it stands at `at`: a subject whose last failure is a day old starts again from zero. */
function current(record: LoginFailureRecord, at: number): LoginFailureRecord {
  return record.lastFailureAt < at - FORGET_AFTER_MS ? { ...record, failures: 0 } : record;
}

/** One more failure, and the block the new count earns. */
function charged(record: LoginFailureRecord, at: number, free: number, policy: Policy): LoginFailureRecord {
  const failures = record.failures + 1;
  return { ...record, failures, lastFailureAt: at, blockedUntil: at + throttleDelayMs(failures, free, policy.maxDelaySeconds) };
}

/**
 * The throttle's decision, made while the store holds both subjects, before any password is checked. The address's
 * block always applies. The account's block applies only to an address that has failed in the last day: an attacker
 * who keeps an account blocked from their addresses does not lock its owner out elsewhere (a fresh address gets
 * one attempt, and its failure puts it under the account's block too). An allowed attempt is counted as a failure
 * of both at once; a right password gives it back (`settleSuccess`). So parallel guesses cannot all pass one check
 * before the first of them is counted.
 */
function reserveAttempt(policy: Policy, at: number) {
  return ([addressRecord, accountRecord]: LoginFailureRecord[]): { records: LoginFailureRecord[]; result: Reservation } => {
    const address = current(addressRecord!, at);
    const account = current(accountRecord!, at);
    const blockedUntil = Math.max(address.blockedUntil, address.failures > 0 ? account.blockedUntil : 0);
    if (blockedUntil > at) {
      return { records: [addressRecord!, accountRecord!], result: { ok: false, retryAfterSeconds: Math.ceil((blockedUntil - at) / 1000) } };
    }
    return {
      records: [charged(address, at, policy.ipFreeFailures, policy), charged(account, at, policy.accountFreeFailures, policy)],
      result: { ok: true },
    };
  };
}

/**
 * A reserved attempt had the right password: the account's count is cleared, and the address gets its attempt back
 * with the block its count would have had without it (never a longer one).
 */
function settleSuccess(policy: Policy, reservedAt: number) {
  return ([address, account]: LoginFailureRecord[]): { records: LoginFailureRecord[]; result: void } => {
    const failures = Math.max(0, address!.failures - 1);
    const blockedUntil = Math.min(address!.blockedUntil, reservedAt + throttleDelayMs(failures, policy.ipFreeFailures, policy.maxDelaySeconds));
    return { records: [{ ...address!, failures, blockedUntil }, { ...account!, failures: 0 }], result: undefined };
  };
}

/**
 * Unknown users, disabled users and wrong passwords all answer `invalid` after the same scrypt work, and the
 * throttle counts per typed username whether or not it exists, so neither answers nor timing reveal accounts.
 */
export function passwordLogin(
  users: UserStore,
  failures: LoginFailureStore,
  policy: Policy,
  options: { now?: () => number; verify?: typeof verifyPassword } = {},
): PasswordLogin {
  const { now = Date.now, verify = verifyPassword } = options;
  return {
    async attempt(username, password, ip) {
      const name = normaliseUsername(username);
      const subjects = [`ip:${ip}`, `user:${name}`];
      const at = now();
      const reservation = await failures.update(subjects, reserveAttempt(policy, at));
      if (!reservation.ok) return { ok: false, reason: 'throttled', retryAfterSeconds: reservation.retryAfterSeconds };

      const user = await users.findByUsername(name);
      const matches = await verify(password, user?.passwordHash ?? (await decoyHash()));
      if (!matches || !isActiveUser(user)) return { ok: false, reason: 'invalid' };
      await failures.update(subjects, settleSuccess(policy, at));
      return { ok: true, user };
    },
  };
}
