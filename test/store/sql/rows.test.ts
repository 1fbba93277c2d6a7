import assert from 'node:assert/strict';
import { it } from 'node:test';
import { equals, insertManySql, whereClause } from '../../../src/store/sql/rows.js';

it('a WHERE clause keeps only the conditions that apply, with their parameters in order', () => {
  assert.deepEqual(whereClause([]), { clause: '', params: [] });
  assert.deepEqual(whereClause([equals('kind', undefined), false, undefined]), { clause: '', params: [] });
  assert.deepEqual(
    whereClause([equals('user_id', 'usr_1'), equals('tool', undefined), ['(at < ? OR (at = ? AND id < ?))', [5, 5, 'x']], ['revoked_at IS NULL', []]]),
    { clause: 'WHERE user_id = ? AND (at < ? OR (at = ? AND id < ?)) AND revoked_at IS NULL', params: ['usr_1', 5, 5, 'x'] },
  );
});

it('a multi-row INSERT has one row of placeholders per record, each batch with its own values', () => {
  const sql = 'INSERT INTO tool_calls (id, user_id) VALUES (?, ?), (?, ?)';
  assert.deepEqual(insertManySql('tool_calls', [{ id: 'a', userId: 'u1' }, { id: 'b', userId: 'u2' }]), { sql, params: ['a', 'u1', 'b', 'u2'] });
  assert.deepEqual(insertManySql('tool_calls', [{ id: 'c', userId: 'u3' }, { id: 'd', userId: 'u4' }]), { sql, params: ['c', 'u3', 'd', 'u4'] });
  assert.deepEqual(insertManySql('tool_calls', [{ id: 'e', userId: 'u5' }]), { sql: 'INSERT INTO tool_calls (id, user_id) VALUES (?, ?)', params: ['e', 'u5'] });
  assert.deepEqual(insertManySql('audit_events', [{ id: 'f', kind: 'k' }, { id: 'g', kind: 'l' }]), { sql: 'INSERT INTO audit_events (id, kind) VALUES (?, ?), (?, ?)', params: ['f', 'k', 'g', 'l'] });
});
