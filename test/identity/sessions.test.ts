import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { deriveKeyRing } from '../../src/crypto/key-ring.js';
import { browserSessions, sessionCookieName, TOUCH_INTERVAL_MS } from '../../src/identity/sessions.js';
import { userService } from '../../src/identity/users.js';
import { backends, openTestStore, type Backend } from '../helpers/backends.js';

const IDLE_SECONDS = 600;
const ABSOLUTE_SECONDS = 3600;

/** A store with one user, sessions and users on a clock the test moves by hand. */
async function setup(backend: Backend) {
  const store = await openTestStore(backend);
  const clock = { at: 1_700_000_000_000 };
  const now = () => clock.at;
  const keys = deriveKeyRing(randomBytes(32));
  const config = { sessions: { idleTimeoutSeconds: IDLE_SECONDS, absoluteTimeoutSeconds: ABSOLUTE_SECONDS }, secureCookies: false };
  const users = userService(store, now);
  const user = await users.create({ username: 'ada', password: 'correct horse battery' });
  return { store, clock, keys, users, user, sessions: browserSessions({ config, store, keys }, now) };
}

for (const backend of backends) {
  describe(`browser sessions on ${backend}`, () => {
    it('a new session resolves to its user, and the store holds only the keyed hash of the token', async () => {
      const t = await setup(backend);
      try {
        const token = await t.sessions.open(t.user, 'TestBrowser/1.0');
        assert.match(token, /^gth_bs_[A-Za-z0-9_-]{43}$/);
        const resolved = await t.sessions.resolve(token);
        assert.equal(resolved?.user.id, t.user.id);
        assert.equal(resolved?.session.userAgent, 'TestBrowser/1.0');
        assert.equal(await t.store.sessions.findByTokenHash(token), undefined);
        assert.equal((await t.store.sessions.findByTokenHash(t.keys.tokenHasher.hash(token)))?.userId, t.user.id);
      } finally {
        await t.store.close();
      }
    });

    it('unknown and malformed tokens resolve to nothing', async () => {
      const t = await setup(backend);
      try {
        await t.sessions.open(t.user, undefined);
        assert.equal(await t.sessions.resolve(undefined), undefined);
        assert.equal(await t.sessions.resolve(''), undefined);
        assert.equal(await t.sessions.resolve('gth_bs_short'), undefined);
        assert.equal(await t.sessions.resolve(`gth_bs_${'A'.repeat(43)}`), undefined);
      } finally {
        await t.store.close();
      }
    });

    it('a revoked session stops resolving and other sessions of the user keep working', async () => {
      const t = await setup(backend);
      try {
        const first = await t.sessions.open(t.user, undefined);
        const second = await t.sessions.open(t.user, undefined);
        await t.sessions.revoke(first);
        assert.equal(await t.sessions.resolve(first), undefined);
        assert.equal((await t.sessions.resolve(second))?.user.id, t.user.id);
      } finally {
        await t.store.close();
      }
    });

    it('activity keeps a session alive, and idleness for the idle timeout ends it', async () => {
      const t = await setup(backend);
      try {
        const token = await t.sessions.open(t.user, undefined);
        t.clock.at += IDLE_SECONDS * 1000 - 1;
        assert.ok(await t.sessions.resolve(token), 'used just before the idle timeout');
        t.clock.at += IDLE_SECONDS * 1000 - 1;
        assert.ok(await t.sessions.resolve(token), 'the previous use restarted the idle timer');
        t.clock.at += IDLE_SECONDS * 1000;
        assert.equal(await t.sessions.resolve(token), undefined);
      } finally {
        await t.store.close();
      }
    });

    it('a session in constant use still ends at its absolute expiry', async () => {
      const t = await setup(backend);
      try {
        const token = await t.sessions.open(t.user, undefined);
        const step = (IDLE_SECONDS * 1000) / 2;
        for (let elapsed = step; elapsed < ABSOLUTE_SECONDS * 1000; elapsed += step) {
          t.clock.at += step;
          assert.ok(await t.sessions.resolve(token), `alive after ${elapsed} ms`);
        }
        t.clock.at += step;
        assert.equal(await t.sessions.resolve(token), undefined);
      } finally {
        await t.store.close();
      }
    });

    it('lastSeenAt is written at most once a minute', async () => {
      const t = await setup(backend);
      try {
        const token = await t.sessions.open(t.user, undefined);
        const opened = t.clock.at;
        const stored = () => t.store.sessions.findByTokenHash(t.keys.tokenHasher.hash(token));
        t.clock.at = opened + TOUCH_INTERVAL_MS - 1;
        await t.sessions.resolve(token);
        assert.equal((await stored())?.lastSeenAt, opened);
        t.clock.at = opened + TOUCH_INTERVAL_MS;
        await t.sessions.resolve(token);
        assert.equal((await stored())?.lastSeenAt, opened + TOUCH_INTERVAL_MS);
      } finally {
        await t.store.close();
      }
    });

    it("a disabled user's sessions do not resolve, even a session the store did not revoke", async () => {
      const t = await setup(backend);
      try {
        const token = await t.sessions.open(t.user, undefined);
        await t.store.users.setDisabled(t.user.id, t.clock.at, t.clock.at);
        assert.equal(await t.sessions.resolve(token), undefined);
        await t.store.users.setDisabled(t.user.id, null, t.clock.at);
        assert.ok(await t.sessions.resolve(token), 'enabled again, the unrevoked session is back');

        await t.users.disable('ada');
        await t.store.users.setDisabled(t.user.id, null, t.clock.at);
        assert.equal(await t.sessions.resolve(token), undefined, 'disabling through the service revokes for good');
      } finally {
        await t.store.close();
      }
    });

    it('changing the password ends every session of the user', async () => {
      const t = await setup(backend);
      try {
        const tokens = [await t.sessions.open(t.user, undefined), await t.sessions.open(t.user, undefined)];
        await t.users.setPassword('ada', 'a brand new password');
        for (const token of tokens) assert.equal(await t.sessions.resolve(token), undefined);
        assert.ok(await t.sessions.resolve(await t.sessions.open(t.user, undefined)), 'a session opened afterwards works');
      } finally {
        await t.store.close();
      }
    });
  });
}

describe('session cookie name', () => {
  it('is __Host- prefixed only when cookies are secure', () => {
    assert.equal(sessionCookieName(true), '__Host-gatehouse_session');
    assert.equal(sessionCookieName(false), 'gatehouse_session');
  });
});
