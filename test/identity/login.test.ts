import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { passwordLogin, throttleDelayMs } from '../../src/identity/login.js';
import { verifyPassword } from '../../src/identity/password.js';
import { publicUser, userService, UserInputError } from '../../src/identity/users.js';
import { backends, openTestStore, type Backend } from '../helpers/backends.js';

const POLICY = { accountFreeFailures: 3, ipFreeFailures: 5, maxDelaySeconds: 8 };
const IP = '192.0.2.1';

/** A store with user `ada`, and a login whose clock the test moves by hand. */
async function setup(backend: Backend) {
  const store = await openTestStore(backend);
  const clock = { at: 1_700_000_000_000 };
  const now = () => clock.at;
  const users = userService(store, now);
  await users.create({ username: 'ada', password: 'ada-password-1' });
  return { store, clock, users, login: passwordLogin(store.users, store.loginFailures, POLICY, { now }) };
}

/** A password check that counts its calls and holds every answer until `release`, as a slow scrypt would. */
function heldVerifier() {
  const held: (() => void)[] = [];
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    verify: async (password: string, hash: string) => {
      calls++;
      const hold = new Promise<void>((resolve) => held.push(resolve));
      const answer = await verifyPassword(password, hash);
      await hold;
      return answer;
    },
    release: () => held.splice(0).forEach((resolve) => resolve()),
  };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('throttle delay', () => {
  it('is free up to the allowance, then doubles from one second, up to the cap', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => throttleDelayMs(n, 3, 8)), [0, 0, 0, 1000, 2000, 4000, 8000, 8000, 8000]);
  });
});

for (const backend of backends) {
  describe(`password login on ${backend}`, () => {
    it('the right password signs in, case-insensitively on the username', async () => {
      const t = await setup(backend);
      try {
        const outcome = await t.login.attempt(' ADA ', 'ada-password-1', IP);
        assert.equal(outcome.ok && outcome.user.username, 'ada');
      } finally {
        await t.store.close();
      }
    });

    it('an unknown user, a wrong password and a disabled user get the same answer', async () => {
      const t = await setup(backend);
      try {
        const unknown = await t.login.attempt('nobody', 'ada-password-1', IP);
        const wrong = await t.login.attempt('ada', 'wrong-password', IP);
        await t.users.disable('ada');
        const disabled = await t.login.attempt('ada', 'ada-password-1', IP);
        assert.deepEqual(unknown, { ok: false, reason: 'invalid' });
        assert.deepEqual(wrong, unknown);
        assert.deepEqual(disabled, unknown);
      } finally {
        await t.store.close();
      }
    });

    it('after the free failures an account is blocked, even for the right password, with a growing wait', async () => {
      const t = await setup(backend);
      try {
        for (let i = 0; i < POLICY.accountFreeFailures; i++) await t.login.attempt('ada', 'wrong-password', IP);
        assert.deepEqual(await t.login.attempt('ada', 'ada-password-1', IP), { ok: false, reason: 'throttled', retryAfterSeconds: 1 });
        t.clock.at += 1000;
        assert.deepEqual(await t.login.attempt('ada', 'wrong-password', IP), { ok: false, reason: 'invalid' });
        assert.deepEqual(await t.login.attempt('ada', 'ada-password-1', IP), { ok: false, reason: 'throttled', retryAfterSeconds: 2 });
        t.clock.at += 2000;
        assert.equal((await t.login.attempt('ada', 'ada-password-1', IP)).ok, true);
      } finally {
        await t.store.close();
      }
    });

    it('a successful sign-in clears the account count', async () => {
      const t = await setup(backend);
      try {
        for (let i = 0; i < POLICY.accountFreeFailures - 1; i++) await t.login.attempt('ada', 'wrong-password', IP);
        assert.equal((await t.login.attempt('ada', 'ada-password-1', IP)).ok, true);
        for (let i = 0; i < POLICY.accountFreeFailures - 1; i++) await t.login.attempt('ada', 'wrong-password', `10.0.0.${i}`);
        assert.equal((await t.login.attempt('ada', 'ada-password-1', '10.0.1.1')).ok, true, 'the earlier failures no longer count');
      } finally {
        await t.store.close();
      }
    });

    it('unknown usernames are throttled exactly like existing ones', async () => {
      const t = await setup(backend);
      try {
        for (let i = 0; i < POLICY.accountFreeFailures; i++) await t.login.attempt('nobody', 'guess', `10.0.0.${i}`);
        assert.deepEqual(await t.login.attempt('nobody', 'guess', '10.0.0.0'), { ok: false, reason: 'throttled', retryAfterSeconds: 1 });
      } finally {
        await t.store.close();
      }
    });

    it('one address failing across many usernames is blocked, other addresses are not', async () => {
      const t = await setup(backend);
      try {
        for (let i = 0; i < POLICY.ipFreeFailures; i++) await t.login.attempt(`user${i}`, 'guess', IP);
        assert.deepEqual(await t.login.attempt('ada', 'ada-password-1', IP), { ok: false, reason: 'throttled', retryAfterSeconds: 1 });
        assert.equal((await t.login.attempt('ada', 'ada-password-1', '192.0.2.2')).ok, true);
      } finally {
        await t.store.close();
      }
    });

    it('parallel guesses: only the free attempts reach the password check, and the right password after them is refused', async () => {
      const store = await openTestStore(backend);
      try {
        await userService(store).create({ username: 'ada', password: 'ada-password-1' });
        const held = heldVerifier();
        const frozen = Date.now();
        const login = passwordLogin(store.users, store.loginFailures, POLICY, { now: () => frozen, verify: held.verify });
        const guesses = Array.from({ length: 12 }, (_, i) => login.attempt('ada', `wrong-guess-${i}`, IP));
        const throttled: unknown[] = [];
        for (const guess of guesses) void guess.then((outcome) => !outcome.ok && outcome.reason === 'throttled' && throttled.push(outcome));
        // Every guess has been let through to the (held) password check or refused before it.
        await until(() => held.calls + throttled.length === guesses.length);
        // The right password, while the guesses are still being checked: refused at once, or (before the fix) checked too.
        let rightSettled = false;
        const rightAttempt = login.attempt('ada', 'ada-password-1', IP).finally(() => (rightSettled = true));
        await until(() => rightSettled || held.calls > POLICY.accountFreeFailures);
        held.release();
        const right = await rightAttempt;
        const outcomes = await Promise.all(guesses);
        assert.equal(held.calls, POLICY.accountFreeFailures, 'only the free attempts were checked');
        assert.equal(outcomes.filter((o) => !o.ok && o.reason === 'invalid').length, POLICY.accountFreeFailures);
        assert.deepEqual(right, { ok: false, reason: 'throttled', retryAfterSeconds: 1 });
      } finally {
        await store.close();
      }
    });

    it('parallel guesses from many addresses at one account: each address gets at most one past the account block', async () => {
      const t = await setup(backend);
      try {
        for (let i = 0; i < POLICY.accountFreeFailures; i++) await t.login.attempt('ada', 'wrong-password', IP);
        const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => t.login.attempt('ada', `guess-${i}`, `10.0.${i % 3}.1`)));
        assert.equal(outcomes.filter((o) => !o.ok && o.reason === 'invalid').length, 3);
      } finally {
        await t.store.close();
      }
    });

    it('a blocked account still lets its owner in from an address without recent failures; the failing address stays blocked', async () => {
      const t = await setup(backend);
      const attacker = '203.0.113.66';
      try {
        for (let i = 0; i < POLICY.accountFreeFailures; i++) await t.login.attempt('ada', 'wrong-password', attacker);
        assert.equal((await t.login.attempt('ada', 'ada-password-1', attacker)).ok, false, 'the attacking address is held by the account block');
        const owner = await t.login.attempt('ada', 'ada-password-1', '198.51.100.2');
        assert.equal(owner.ok && owner.user.username, 'ada');
        // The owner's sign-in cleared the account; the attacker's address keeps its own count and gets blocked by it.
        for (let i = 0; i < POLICY.ipFreeFailures - POLICY.accountFreeFailures; i++) await t.login.attempt(`other${i}`, 'guess', attacker);
        assert.deepEqual(await t.login.attempt('ada', 'ada-password-1', attacker), { ok: false, reason: 'throttled', retryAfterSeconds: 1 });
        assert.equal((await t.login.attempt('ada', 'ada-password-1', '198.51.100.3')).ok, true);
      } finally {
        await t.store.close();
      }
    });

    it('a fresh address that fails once comes under the account block', async () => {
      const t = await setup(backend);
      try {
        for (let i = 0; i < POLICY.accountFreeFailures; i++) await t.login.attempt('ada', 'wrong-password', IP);
        assert.deepEqual(await t.login.attempt('ada', 'wrong-password', '198.51.100.4'), { ok: false, reason: 'invalid' });
        assert.equal((await t.login.attempt('ada', 'ada-password-1', '198.51.100.4')).ok, false);
      } finally {
        await t.store.close();
      }
    });

    it("a right password gives the address its attempt back: an address's sign-ins never add up to a block", async () => {
      const t = await setup(backend);
      try {
        for (let i = 0; i < POLICY.ipFreeFailures * 2; i++) assert.equal((await t.login.attempt('ada', 'ada-password-1', IP)).ok, true);
        assert.equal(await t.store.loginFailures.find(`ip:${IP}`), undefined);
      } finally {
        await t.store.close();
      }
    });

    it('failures older than a day are forgotten', async () => {
      const t = await setup(backend);
      try {
        for (let i = 0; i < POLICY.accountFreeFailures - 1; i++) await t.login.attempt('ada', 'wrong-password', `10.0.0.${i}`);
        t.clock.at += 24 * 3600 * 1000 + 1;
        await t.login.attempt('ada', 'wrong-password', '10.0.1.1');
        assert.equal((await t.login.attempt('ada', 'ada-password-1', '10.0.1.1')).ok, true, 'the count started again at one');
      } finally {
        await t.store.close();
      }
    });
  });
}

describe('user service on sqlite', () => {
  it('stores usernames lowercased and refuses malformed names, short passwords and duplicates', async () => {
    const t = await setup('sqlite');
    try {
      const bob = await t.users.create({ username: '  Bob ', password: 'bob-password-1' });
      assert.equal(bob.username, 'bob');
      await assert.rejects(t.users.create({ username: 'has space', password: 'long-enough-1' }), (e) => e instanceof UserInputError && e.field === 'username');
      await assert.rejects(t.users.create({ username: 'carol', password: 'short' }), (e) => e instanceof UserInputError && e.field === 'password');
      await assert.rejects(t.users.create({ username: 'BOB', password: 'bob-password-2' }), (e) => e instanceof UserInputError && e.conflict);
    } finally {
      await t.store.close();
    }
  });

  it('a new password replaces the old one', async () => {
    const t = await setup('sqlite');
    try {
      const updated = await t.users.setPassword('ada', 'ada-password-2');
      assert.equal(await verifyPassword('ada-password-2', updated.passwordHash), true);
      assert.equal(await verifyPassword('ada-password-1', updated.passwordHash), false);
      await assert.rejects(t.users.setPassword('nobody', 'whatever-password'), UserInputError);
    } finally {
      await t.store.close();
    }
  });

  it('the first admin is created once, with a generated password when none is given', async () => {
    const store = await openTestStore('sqlite');
    try {
      const users = userService(store);
      const first = await users.ensureInitialAdmin();
      assert.equal(first.created, true);
      assert.ok(first.generatedPassword && first.generatedPassword.length >= 20);
      const admin = await users.find('admin');
      assert.equal(admin?.isAdmin, true);
      assert.equal(await verifyPassword(first.generatedPassword, admin!.passwordHash), true);
      assert.deepEqual(await users.ensureInitialAdmin('another-password'), { created: false });
    } finally {
      await store.close();
    }
  });

  it('the public view of a user never carries the password hash', async () => {
    const t = await setup('sqlite');
    try {
      const view = publicUser((await t.users.find('ada'))!);
      assert.deepEqual(Object.keys(view).sort(), ['created_at', 'disabled', 'groups', 'id', 'is_admin', 'source', 'username']);
      assert.ok(!JSON.stringify(view).includes('scrypt'));
    } finally {
      await t.store.close();
    }
  });

  it('the last active admin cannot be disabled, so the management API is never locked out', async () => {
    const store = await openTestStore('sqlite');
    try {
      const users = userService(store);
      await users.create({ username: 'root', password: 'root-password-1', isAdmin: true });
      await assert.rejects(users.disable('root'), (error: unknown) => error instanceof UserInputError && /last active admin/.test(error.message));
      assert.equal((await users.find('root'))?.disabledAt, null);
      await users.create({ username: 'second', password: 'second-password-1', isAdmin: true });
      await users.disable('root');
      assert.notEqual((await users.find('root'))?.disabledAt, null);
      await assert.rejects(users.disable('second'), /last active admin/);
    } finally {
      await store.close();
    }
  });
});
