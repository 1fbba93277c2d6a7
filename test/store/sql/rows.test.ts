import assert from 'node:assert/strict';
import { it } from 'node:test';
import { equals, whereClause } from '../../../src/store/sql/rows.js';

it('a WHERE clause keeps only the conditions that apply, with their parameters in order', () => {
  assert.deepEqual(whereClause([]), { clause: '', params: [] });
  assert.deepEqual(whereClause([equals('kind', undefined), false, undefined]), { clause: '', params: [] });
  assert.deepEqual(
    whereClause([equals('user_id', 'usr_1'), equals('tool', undefined), ['(at < ? OR (at = ? AND id < ?))', [5, 5, 'x']], ['revoked_at IS NULL', []]]),
    { clause: 'WHERE user_id = ? AND (at < ? OR (at = ? AND id < ?)) AND revoked_at IS NULL', params: ['usr_1', 5, 5, 'x'] },
  );
});
