import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ToolCallRecord } from '../../src/store/gateway-types.js';
import { basicAuth, startTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/backends.js';
import { assertEnvelope, sendJson } from './api-client.js';
import type { AuditEntryView as Entry } from '../../src/admin/audit.js';

const BOB_PASSWORD = 'bob-Password-1';
const T0 = Date.parse('2025-06-01T12:00:00.000Z');

interface Page {
  entries: Entry[];
  next_cursor: string | null;
}

for (const backend of backends) {
  describe(`GET /api/audit (${backend})`, () => {
    let t: TestApp;
    let calls: ToolCallRecord[];
    let alice: string;

    before(async () => {
      t = await startTestApp({ backend });
      alice = (await t.runtime.users.create({ username: 'alice', password: 'alice-Password-1' })).id;
      const bob = (await t.runtime.users.create({ username: 'bob', password: BOB_PASSWORD })).id;
      const call = (n: number, more: Partial<ToolCallRecord>): ToolCallRecord => ({
        id: `call_${String(n).padStart(2, '0')}`, at: T0 + n * 1000, userId: alice, clientId: 'client-a', upstreamId: 'ups_files',
        upstreamName: 'files', tool: 'read', outcome: 'ok', error: null, durationMs: 5, arguments: null, ...more,
      });
      calls = [
        call(1, {}),
        call(2, { userId: bob, clientId: null, tool: 'write', outcome: 'tool_error', error: 'disk full' }),
        call(3, { upstreamId: 'ups_wiki', upstreamName: 'wiki', tool: 'search', arguments: '{"q":"gateway","token":"[redacted]"}' }),
        // Three calls in the same millisecond: paging must neither skip nor repeat them.
        call(4, { at: T0 + 4000, outcome: 'timeout', error: 'no answer within 30000 ms' }),
        call(5, { at: T0 + 4000, clientId: 'client-b' }),
        call(6, { at: T0 + 4000, userId: bob, upstreamId: 'ups_wiki', upstreamName: 'wiki' }),
        call(7, { userId: 'usr_gone', tool: 'write' }),
      ];
      for (const record of calls) await t.runtime.store.toolCalls.append(record);
    });
    after(() => t.close());

    const get = async (query: string): Promise<Page> => {
      const res = await sendJson(t, 'GET', `/api/audit${query}`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Page;
    };
    const ids = (page: Page) => page.entries.map((entry) => entry.id).sort();
    const expected = (match: (call: ToolCallRecord) => boolean) => calls.filter(match).map((call) => call.id).sort();

    it('lists every call newest first, with names and parsed arguments', async () => {
      const page = await get('');
      assert.deepEqual(page.entries.map((entry) => entry.id), ['call_07', 'call_06', 'call_05', 'call_04', 'call_03', 'call_02', 'call_01']);
      assert.equal(page.next_cursor, null);
      const search = page.entries.find((entry) => entry.id === 'call_03')!;
      assert.deepEqual(search, {
        id: 'call_03', at: new Date(T0 + 3000).toISOString(), user: 'alice', user_id: alice, client_id: 'client-a',
        upstream: 'wiki', upstream_id: 'ups_wiki', tool: 'search', outcome: 'ok', error: null, duration_ms: 5,
        arguments: { q: 'gateway', token: '[redacted]' },
      });
      assert.equal(page.entries.find((entry) => entry.id === 'call_07')!.user, null, 'a deleted user shows no name');
      assert.equal(page.entries.find((entry) => entry.id === 'call_02')!.error, 'disk full');
    });

    it('each filter narrows to the matching calls', async () => {
      assert.deepEqual(ids(await get('?user=bob')), expected((c) => c.userId !== alice && c.userId !== 'usr_gone'));
      assert.deepEqual(ids(await get('?user=ALICE')), expected((c) => c.userId === alice), 'usernames compare as the users service does');
      assert.deepEqual(ids(await get('?client_id=client-b')), ['call_05']);
      assert.deepEqual(ids(await get('?upstream=wiki')), expected((c) => c.upstreamName === 'wiki'));
      assert.deepEqual(ids(await get('?upstream=ups_wiki')), expected((c) => c.upstreamId === 'ups_wiki'));
      assert.deepEqual(ids(await get('?tool=write')), expected((c) => c.tool === 'write'));
      assert.deepEqual(ids(await get('?outcome=timeout')), ['call_04']);
      assert.deepEqual(ids(await get(`?since=${new Date(T0 + 4000).toISOString()}`)), expected((c) => c.at >= T0 + 4000));
      assert.deepEqual(ids(await get('?since=2025-06-01T14:00:05%2B02:00')), expected((c) => c.at >= T0 + 5000), 'offsets are honoured');
      assert.deepEqual(ids(await get('?user=alice&upstream=files&outcome=ok')), ['call_01', 'call_05']);
    });

    it('an unknown username or upstream matches nothing', async () => {
      assert.deepEqual(await get('?user=nobody'), { entries: [], next_cursor: null });
      assert.deepEqual(await get('?upstream=nowhere'), { entries: [], next_cursor: null });
    });

    it('paging returns every call exactly once, newest first, across calls with the same time', async () => {
      for (const limit of [1, 2, 3]) {
        const seen: Entry[] = [];
        let cursor: string | null = null;
        do {
          const page: Page = await get(`?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
          assert.ok(page.entries.length <= limit);
          seen.push(...page.entries);
          cursor = page.next_cursor;
        } while (cursor !== null);
        assert.deepEqual(seen.map((entry) => entry.id), ['call_07', 'call_06', 'call_05', 'call_04', 'call_03', 'call_02', 'call_01'], `limit ${limit}`);
      }
    });

    it('paging keeps the filters', async () => {
      const first = await get('?user=alice&limit=2');
      assert.deepEqual(first.entries.map((entry) => entry.id), ['call_05', 'call_04']);
      const second = await get(`?user=alice&limit=2&cursor=${first.next_cursor}`);
      assert.deepEqual(second.entries.map((entry) => entry.id), ['call_03', 'call_01']);
      assert.equal(second.next_cursor, null);
    });

    it('the export holds every matching call as one JSON object per line, as an attachment', async () => {
      const res = await sendJson(t, 'GET', '/api/audit/export');
      assert.equal(res.statusCode, 200, res.body);
      assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
      assert.equal(res.headers['content-disposition'], 'attachment; filename="gatehouse-audit.jsonl"');
      assert.ok(res.body.endsWith('\n'));
      const lines = res.body.trimEnd().split('\n').map((line) => JSON.parse(line) as Entry);
      assert.deepEqual(lines, (await get('')).entries);

      const filtered = await sendJson(t, 'GET', '/api/audit/export?upstream=wiki');
      assert.deepEqual(filtered.body.trimEnd().split('\n').map((line) => (JSON.parse(line) as Entry).id).sort(), expected((c) => c.upstreamName === 'wiki'));
      const none = await sendJson(t, 'GET', '/api/audit/export?user=nobody');
      assert.equal(none.statusCode, 200);
      assert.equal(none.body, '');
    });

    it('refuses users who are not admins', async () => {
      const bob = { authorization: basicAuth('bob', BOB_PASSWORD) };
      for (const url of ['/api/audit', '/api/audit/export']) {
        const res = await sendJson(t, 'GET', url, undefined, bob);
        assertEnvelope(res, { status: 403, type: 'permission_error', code: 'forbidden' });
        assert.doesNotMatch(res.body, /call_0/);
      }
    });

    it('refuses bad filters with a 400 naming the parameter', async () => {
      const cases: [string, string][] = [
        ['since=yesterday', 'since'],
        ['since=2025-06-01', 'since'],
        ['limit=0', 'limit'],
        ['limit=501', 'limit'],
        ['limit=ten', 'limit'],
        ['cursor=not-a-cursor', 'cursor'],
        [`cursor=${Buffer.from('{"at":1}').toString('base64url')}`, 'cursor'],
        ['outcome=maybe', 'outcome'],
        ['colour=red', 'colour'],
      ];
      for (const [query, param] of cases) {
        assertEnvelope(await sendJson(t, 'GET', `/api/audit?${query}`), { status: 400, type: 'invalid_request_error', code: 'validation_failed', param });
      }
      assertEnvelope(await sendJson(t, 'GET', '/api/audit/export?since=yesterday'), { status: 400, type: 'invalid_request_error', code: 'validation_failed', param: 'since' });
      assertEnvelope(await sendJson(t, 'GET', '/api/audit/export?limit=5'), { status: 400, type: 'invalid_request_error', code: 'validation_failed', param: 'limit' });
    });
  });
}

describe('GET /api/audit/events', () => {
  let t: TestApp;
  let alice: string;

  before(async () => {
    t = await startTestApp();
    alice = (await t.runtime.users.create({ username: 'alice', password: 'alice-Password-1' })).id;
    // Whole seconds apart: events of one millisecond have no order.
    const event = (n: number, kind: string, userId: string | null, detail: Record<string, unknown>) =>
      t.runtime.store.audit.append({ id: `evt_${n}`, at: T0 + n * 1000, kind, userId, clientId: null, grantId: null, ip: null, detail: JSON.stringify(detail) });
    await event(1, 'upstream.authorized', alice, { upstream_id: 'ups_x', connection: 'per_user' });
    await event(2, 'upstream.needs_auth', alice, { upstream_id: 'ups_x', reason: 'the refresh token was refused' });
    await event(3, 'grant.revoked', null, {});
  });
  after(async () => t?.close());

  it('lists security events newest first, filtered by kind and by username', async () => {
    const all = (await sendJson(t, 'GET', '/api/audit/events')).json() as { events: { kind: string; detail: Record<string, unknown> }[] };
    assert.deepEqual(all.events.map((event) => event.kind), ['grant.revoked', 'upstream.needs_auth', 'upstream.authorized']);
    const needsAuth = (await sendJson(t, 'GET', '/api/audit/events?kind=upstream.needs_auth&user=alice')).json() as typeof all;
    assert.deepEqual(needsAuth.events.map((event) => event.detail), [{ upstream_id: 'ups_x', reason: 'the refresh token was refused' }]);
    assert.deepEqual(((await sendJson(t, 'GET', '/api/audit/events?user=nobody')).json() as typeof all).events, []);
  });

  it('refuses bad filters with a 400 naming the parameter, and non-admins with 403', async () => {
    for (const [query, param] of [['kind=DROP', 'kind'], ['limit=0', 'limit'], ['before=yesterday', 'before'], ['colour=red', 'colour']]) {
      assertEnvelope(await sendJson(t, 'GET', `/api/audit/events?${query}`), { status: 400, type: 'invalid_request_error', code: 'validation_failed', param: param! });
    }
    const response = await t.app.inject({ method: 'GET', url: '/api/audit/events', headers: { authorization: basicAuth('alice', 'alice-Password-1') } });
    assert.equal(response.statusCode, 403);
  });
});
