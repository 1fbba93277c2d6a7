import type { Config } from '../config.js';
import type { LoginFailureStore, UserRecord, UserStore } from '../store/index.js';
import { decoyHash, verifyPassword } from './password.js';
import { normaliseUsername } from './users.js';

export type LoginOutcome =
  | { ok: true; user: UserRecord }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

export interface PasswordLogin {
  /** Checks a username and password, throttled per account and per client IP with a growing delay. */
  attempt(username: string, password: string, ip: string): Promise<LoginOutcome>;
}

/** A failure older than this no longer counts; its row may then go. */
export const FORGET_AFTER_MS = 24 * 3600 * 1000;

/** Failures up to `free` cost nothing; each one after doubles the wait, up to `maxSeconds`. */
export function throttleDelayMs(failures: number, free: number, maxSeconds: number): number {
  if (failures < free) return 0;
  return Math.min(maxSeconds, 2 ** (failures - free)) * 1000;
}

/**
 * Unknown users, disabled users and wrong passwords all answer `invalid` after the same scrypt work, and the
 * throttle counts per typed username whether or not it exists, so neither answers nor timing reveal accounts.
 */
export function passwordLogin(
  users: UserStore,
  failures: LoginFailureStore,
  policy: Config['loginThrottle'],
  now: () => number = Date.now,
): PasswordLogin {
  return {
    async attempt(username, password, ip) {
      const name = normaliseUsername(username);
      const subjects = [
        { key: `user:${name}`, free: policy.accountFreeFailures },
        { key: `ip:${ip}`, free: policy.ipFreeFailures },
      ];
      const at = now();
      const blocks = await Promise.all(subjects.map((s) => failures.find(s.key)));
      const blockedUntil = Math.max(0, ...blocks.map((b) => b?.blockedUntil ?? 0));
      if (blockedUntil > at) return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil((blockedUntil - at) / 1000) };

      const user = await users.findByUsername(name);
      const matches = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
      if (user && matches && user.disabledAt === null) {
        await failures.clear(subjects[0]!.key);
        return { ok: true, user };
      }
      await Promise.all(
        subjects.map((s) =>
          failures.recordFailure(s.key, at, at - FORGET_AFTER_MS, (n) => throttleDelayMs(n, s.free, policy.maxDelaySeconds)),
        ),
      );
      return { ok: false, reason: 'invalid' };
    },
  };
}
