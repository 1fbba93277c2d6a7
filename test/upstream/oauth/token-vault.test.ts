import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openStore } from '../../../src/store/index.js';
import { TokenRequestError, type TokenSet } from '../../../src/upstream/oauth/types.js';
import { createTokenVault, NeedsAuthorization, TokensUnavailable, type TokenVaultOptions } from '../../../src/upstream/oauth/token-vault.js';
import { backendPlace, backends, openTestStore } from '../../helpers/backends.js';

const ISSUER = 'https://as.example';
const MINUTE = 60_000;
const START = 1_700_000_000_000;

/** A refresh endpoint stand-in: hands out at<n>/rt<n> in turn, or fails as told; records what it was given. */
function fakeRefresh(clock: () => number, lifetimeMs = 10 * MINUTE) {
  const calls: { upstreamId: string; issuer: string; refreshToken: string }[] = [];
  const failures: TokenRequestError[] = [];
  let rotate = true;
  let waitMs = 0;
  let issued = 1;
  return {
    calls,
    failNext: (...errors: TokenRequestError[]) => failures.push(...errors),
    keepRefreshToken: () => (rotate = false),
    takeTime: (ms: number) => (waitMs = ms),
    async refresh(upstreamId: string, issuer: string, refreshToken: string): Promise<TokenSet> {
      calls.push({ upstreamId, issuer, refreshToken });
      if (waitMs > 0) await delay(waitMs);
      const failure = failures.shift();
      if (failure) throw failure;
      const n = ++issued;
      return { accessToken: `at${n}`, tokenType: 'Bearer', ...(rotate && { refreshToken: `rt${n}` }), expiresAt: clock() + lifetimeMs };
    },
  };
}

const initial = (expiresAt: number | undefined, refreshToken: string | null = 'rt1'): TokenSet => ({
  accessToken: 'at1',
  tokenType: 'Bearer',
  ...(refreshToken && { refreshToken }),
  ...(expiresAt !== undefined && { expiresAt }),
});

/** Saved at START for ten minutes, then this far on: inside the one-minute margin, so due for refresh. */
const DUE = 9.5 * MINUTE;
const LATER = START + 10 * MINUTE;

const transient = () => new TokenRequestError('transient', 'the token endpoint answered 503');

for (const backend of backends) {
  describe(`token vault on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let clock: number;
    let slept: number[];
    let needsAuth: [string, string, string][];
    let upstream: ReturnType<typeof fakeRefresh>;
    const key = randomBytes(32);
    const vault = (overrides: Partial<TokenVaultOptions> = {}) =>
      createTokenVault({
        store: store.upstreamTokens,
        encryptionKey: key,
        refresh: upstream.refresh,
        onNeedsAuth: (...args) => needsAuth.push(args),
        refreshMarginMs: MINUTE,
        retry: { attempts: 3, initialDelayMs: 100 },
        now: () => clock,
        // Waiting moves the injected clock, so leases and backoff play out without real time passing.
        sleep: async (ms) => {
          slept.push(ms);
          clock += ms;
        },
        ...overrides,
      });

    beforeEach(async () => {
      store = await openTestStore(backend);
      clock = START;
      slept = [];
      needsAuth = [];
      upstream = fakeRefresh(() => clock);
    });
    afterEach(() => store.close());

    it('hands out the stored access token without refreshing while it is fresh', async () => {
      const v = vault();
      await v.save('ups_a', 'usr_a', ISSUER, initial(LATER));
      clock += 8 * MINUTE;
      assert.equal(await v.accessToken('ups_a', 'usr_a'), 'at1');
      assert.equal(upstream.calls.length, 0);
      assert.deepEqual(await v.status('ups_a', 'usr_a'), { state: 'active', expiresAt: LATER });
    });

    it('refreshes ahead of expiry, at the record issuer, and keeps the rotated refresh token', async () => {
      const v = vault();
      await v.save('ups_a', '', ISSUER, initial(LATER));
      clock += 9.5 * MINUTE;
      assert.equal(await v.accessToken('ups_a', ''), 'at2');
      assert.deepEqual(upstream.calls, [{ upstreamId: 'ups_a', issuer: ISSUER, refreshToken: 'rt1' }]);
      assert.deepEqual(await v.tokens('ups_a', ''), { accessToken: 'at2', tokenType: 'Bearer', refreshToken: 'rt2', expiresAt: clock + 10 * MINUTE });
      clock += 9.5 * MINUTE;
      assert.equal(await v.accessToken('ups_a', ''), 'at3');
      assert.equal(upstream.calls[1]!.refreshToken, 'rt2');
    });

    it('keeps the old refresh token when the upstream does not rotate it', async () => {
      upstream.keepRefreshToken();
      const v = vault();
      await v.save('ups_a', '', ISSUER, initial(LATER));
      clock += DUE;
      assert.equal(await v.accessToken('ups_a', ''), 'at2');
      assert.equal((await v.tokens('ups_a', ''))!.refreshToken, 'rt1');
    });

    it('does not refresh a short-lived token on every use: the margin is at most half its lifetime', async () => {
      const v = vault();
      await v.save('ups_a', '', ISSUER, initial(START + 40_000));
      clock += 10_000;
      assert.equal(await v.accessToken('ups_a', ''), 'at1');
      clock += 15_000;
      assert.equal(await v.accessToken('ups_a', ''), 'at2');
      assert.equal(upstream.calls.length, 1);
    });

    it('twenty concurrent callers share one refresh', async () => {
      upstream.takeTime(20);
      const v = vault();
      await v.save('ups_a', 'usr_a', ISSUER, initial(LATER));
      clock += DUE;
      const tokens = await Promise.all(Array.from({ length: 20 }, () => v.accessToken('ups_a', 'usr_a')));
      assert.deepEqual(new Set(tokens), new Set(['at2']));
      assert.equal(upstream.calls.length, 1);
    });

    it('retries a transient failure with doubling delays and keeps the tokens meanwhile', async () => {
      upstream.failNext(transient(), transient());
      const v = vault();
      await v.save('ups_a', '', ISSUER, initial(LATER));
      clock += DUE;
      assert.equal(await v.accessToken('ups_a', ''), 'at2');
      assert.equal(upstream.calls.length, 3);
      assert.deepEqual(slept, [100, 200]);
      assert.equal(upstream.calls[2]!.refreshToken, 'rt1');
    });

    it('when retries run out, returns the not-yet-expired token, keeps everything and frees the lease', async () => {
      upstream.failNext(transient(), transient(), transient());
      const v = vault();
      await v.save('ups_a', '', ISSUER, initial(LATER));
      clock += DUE;
      assert.equal(await v.accessToken('ups_a', ''), 'at1');
      const row = await store.upstreamTokens.find('ups_a', '');
      assert.equal(row!.status, 'active');
      assert.equal(row!.leaseUntil, null);
      assert.deepEqual(await v.tokens('ups_a', ''), initial(LATER));
      assert.deepEqual(needsAuth, []);
      assert.equal(await v.accessToken('ups_a', ''), 'at2');
    });

    it('when retries run out and the token has expired, says tokens are unavailable and keeps them', async () => {
      upstream.failNext(transient(), transient(), transient());
      const v = vault();
      await v.save('ups_a', '', ISSUER, initial(LATER));
      clock += 11 * MINUTE;
      await assert.rejects(v.accessToken('ups_a', ''), (error: Error) => error instanceof TokensUnavailable && error.cause instanceof TokenRequestError);
      assert.equal((await v.status('ups_a', '')).state, 'active');
      assert.equal((await v.tokens('ups_a', ''))!.refreshToken, 'rt1');
    });

    it('invalid_grant marks the connection needs_auth, tells onNeedsAuth, and later calls do not refresh', async () => {
      upstream.failNext(new TokenRequestError('invalid_grant', 'refresh token revoked'));
      const v = vault();
      await v.save('ups_a', 'usr_a', ISSUER, initial(LATER));
      clock += DUE;
      await assert.rejects(v.accessToken('ups_a', 'usr_a'), (error: Error) => {
        assert.ok(error instanceof NeedsAuthorization);
        assert.equal(error.upstreamId, 'ups_a');
        assert.equal(error.subject, 'usr_a');
        assert.match(error.reason, /refused the refresh token \(invalid_grant\); authorize again/);
        return true;
      });
      assert.equal(needsAuth.length, 1);
      assert.deepEqual(needsAuth[0]!.slice(0, 2), ['ups_a', 'usr_a']);
      const status = await v.status('ups_a', 'usr_a');
      assert.equal(status.state, 'needs_auth');
      assert.match(status.reason!, /invalid_grant/);
      await assert.rejects(v.accessToken('ups_a', 'usr_a'), NeedsAuthorization);
      await assert.rejects(v.invalidate('ups_a', 'usr_a', 'at1'), NeedsAuthorization);
      assert.equal(upstream.calls.length, 1);
      assert.equal(needsAuth.length, 1);
    });

    it('reports each refresh attempt that ends to onRefresh: ok, failed for now (after the retries), refused', async () => {
      const outcomes: string[] = [];
      const v = vault({ onRefresh: (upstreamId, subject, outcome) => void outcomes.push(`${upstreamId}/${subject}/${outcome}`) });
      await v.save('ups_a', 'usr_a', ISSUER, initial(LATER));
      clock += DUE;
      assert.equal(await v.accessToken('ups_a', 'usr_a'), 'at2');
      upstream.failNext(transient(), transient(), transient());
      clock += 11 * MINUTE;
      await assert.rejects(v.accessToken('ups_a', 'usr_a'), TokensUnavailable);
      upstream.failNext(new TokenRequestError('invalid_grant', 'refresh token revoked'));
      await assert.rejects(v.accessToken('ups_a', 'usr_a'), NeedsAuthorization);
      assert.deepEqual(outcomes, ['ups_a/usr_a/ok', 'ups_a/usr_a/failed', 'ups_a/usr_a/refused']);
    });

    it('invalid_client marks needs_auth and hands the caller the error to re-register once', async () => {
      const refused = new TokenRequestError('invalid_client', 'client unknown');
      upstream.failNext(refused);
      const v = vault();
      await v.save('ups_a', '', ISSUER, initial(LATER));
      clock += DUE;
      await assert.rejects(v.accessToken('ups_a', ''), (error: Error) => {
        assert.ok(error instanceof NeedsAuthorization);
        assert.equal(error.cause, refused);
        assert.match(error.reason, /no longer knows Gatehouse's client registration/);
        return true;
      });
      assert.equal((await v.status('ups_a', '')).state, 'needs_auth');
      assert.equal(needsAuth.length, 1);
    });

    it('an expired token without a refresh token needs authorization; a fresh one is still used', async () => {
      const v = vault();
      await v.save('ups_a', '', ISSUER, initial(LATER, null));
      clock += DUE;
      assert.equal(await v.accessToken('ups_a', ''), 'at1');
      clock += MINUTE;
      await assert.rejects(v.accessToken('ups_a', ''), NeedsAuthorization);
      assert.match((await v.status('ups_a', '')).reason!, /no refresh token/);
      assert.equal(upstream.calls.length, 0);
    });

    it('save after needs_auth makes the connection active again', async () => {
      const v = vault();
      await v.save('ups_a', 'usr_a', ISSUER, initial(LATER));
      await v.markNeedsAuth('ups_a', 'usr_a', 'the admin asked for a new authorization');
      assert.deepEqual(needsAuth, [['ups_a', 'usr_a', 'the admin asked for a new authorization']]);
      await assert.rejects(v.accessToken('ups_a', 'usr_a'), NeedsAuthorization);
      await v.save('ups_a', 'usr_a', ISSUER, { ...initial(LATER), accessToken: 'at_new' });
      assert.deepEqual(await v.status('ups_a', 'usr_a'), { state: 'active', expiresAt: LATER });
      assert.equal(await v.accessToken('ups_a', 'usr_a'), 'at_new');
    });

    it('invalidate after a 401 refreshes once; a second 401 for the same stale token gets the new one', async () => {
      const v = vault();
      await v.save('ups_a', '', ISSUER, initial(LATER));
      assert.equal(await v.invalidate('ups_a', '', 'at1'), 'at2');
      assert.equal(await v.invalidate('ups_a', '', 'at1'), 'at2');
      assert.equal(upstream.calls.length, 1);
      assert.equal(await v.invalidate('ups_a', '', 'at2'), 'at3');
    });

    it('concurrent 401s for one token share one refresh', async () => {
      upstream.takeTime(20);
      const v = vault();
      await v.save('ups_a', '', ISSUER, initial(undefined));
      const tokens = await Promise.all(Array.from({ length: 5 }, () => v.invalidate('ups_a', '', 'at1')));
      assert.deepEqual(new Set(tokens), new Set(['at2']));
      assert.equal(upstream.calls.length, 1);
    });

    it('a transient failure after a 401 does not hand back the refused token', async () => {
      upstream.failNext(transient(), transient(), transient());
      const v = vault();
      await v.save('ups_a', '', ISSUER, initial(LATER));
      await assert.rejects(v.invalidate('ups_a', '', 'at1'), TokensUnavailable);
      assert.equal((await v.status('ups_a', '')).state, 'active');
    });

    it('a new authorization saved during a refresh wins over the refresh result', async () => {
      const v = vault();
      const refresh = async (...args: [string, string, string]) => {
        await v.save('ups_a', '', ISSUER, { ...initial(clock + 10 * MINUTE), accessToken: 'at_authorized' });
        return upstream.refresh(...args);
      };
      const racing = vault({ refresh });
      await v.save('ups_a', '', ISSUER, initial(LATER));
      clock += DUE;
      assert.equal(await racing.accessToken('ups_a', ''), 'at_authorized');
      assert.equal((await v.tokens('ups_a', ''))!.accessToken, 'at_authorized');
    });

    it('waits out a lease left by another replica, then refreshes itself', async () => {
      const v = vault({ leaseMs: 5_000, pollMs: 1_000 });
      await v.save('ups_a', '', ISSUER, initial(LATER));
      clock += DUE;
      assert.equal(await store.upstreamTokens.acquireLease('ups_a', '', 1, clock + 5_000, clock), true);
      assert.equal(await v.accessToken('ups_a', ''), 'at2');
      assert.deepEqual(slept, [1_000, 1_000, 1_000, 1_000, 1_000]);
      assert.equal(upstream.calls.length, 1);
    });

    it('answers "none" and NeedsAuthorization for a connection never authorized', async () => {
      const v = vault();
      assert.deepEqual(await v.status('ups_a', 'usr_a'), { state: 'none' });
      assert.equal(await v.tokens('ups_a', 'usr_a'), undefined);
      await assert.rejects(v.accessToken('ups_a', 'usr_a'), NeedsAuthorization);
    });

    it('forget deletes the connection and returns its tokens for revocation', async () => {
      const v = vault();
      await v.save('ups_a', 'usr_a', ISSUER, initial(LATER));
      assert.deepEqual(await v.forget('ups_a', 'usr_a'), initial(LATER));
      assert.deepEqual(await v.status('ups_a', 'usr_a'), { state: 'none' });
      assert.equal(await v.forget('ups_a', 'usr_a'), undefined);
    });

    it('keeps tokens sealed at rest, bound to their row', async () => {
      const v = vault();
      await v.save('ups_a', 'usr_a', ISSUER, { ...initial(LATER), accessToken: 'at-secret-text', refreshToken: 'rt-secret-text' });
      const raw = JSON.stringify(await store.database.all('SELECT * FROM upstream_tokens'));
      assert.doesNotMatch(raw, /secret-text/);
      const row = (await store.upstreamTokens.find('ups_a', 'usr_a'))!;
      await store.upstreamTokens.put({ ...row, subject: 'usr_b' });
      await assert.rejects(v.accessToken('ups_a', 'usr_b'), /cannot decrypt/);
    });
  });
}

for (const backend of backends) {
  describe(`two token vaults on one ${backend} database`, () => {
    it('racing replicas refresh exactly once and both get the new token', async () => {
      const place = await backendPlace(backend);
      const first = await openStore(place);
      const second = await openStore(place);
      try {
        const upstream = fakeRefresh(Date.now);
        upstream.takeTime(200);
        const key = randomBytes(32);
        const replica = (store: typeof first) =>
          createTokenVault({ store: store.upstreamTokens, encryptionKey: key, refresh: upstream.refresh, refreshMarginMs: MINUTE, pollMs: 20 });
        const [a, b] = [replica(first), replica(second)];
        // Already expired: every caller on both replicas wants a refresh.
        await a.save('ups_a', '', ISSUER, initial(Date.now() - 1));
        const tokens = await Promise.all([a.accessToken('ups_a', ''), b.accessToken('ups_a', ''), a.accessToken('ups_a', ''), b.accessToken('ups_a', '')]);
        assert.deepEqual(new Set(tokens), new Set(['at2']));
        assert.equal(upstream.calls.length, 1);
        assert.equal((await b.tokens('ups_a', ''))!.refreshToken, 'rt2');
      } finally {
        await first.database.close();
        await second.database.close();
        await place.cleanup();
      }
    });
  });
}
