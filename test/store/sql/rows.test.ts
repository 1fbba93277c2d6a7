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

it('a batch is inserted in chunks of 64, 16, 4 and 1 rows, so a table has four INSERT texts whatever the batch sizes', () => {
  const rows = (count: number, from = 0) => Array.from({ length: count }, (_, index) => ({ id: `c${from + index}`, userId: `u${from + index}` }));
  const texts = new Set<string>();
  for (let count = 1; count <= 200; count += 1) {
    const statements = insertManySql('tool_calls', rows(count));
    statements.forEach(({ sql }) => texts.add(sql));
    // Every record once, in order, two values each.
    assert.deepEqual(statements.flatMap(({ params }) => params), rows(count).flatMap(({ id, userId }) => [id, userId]));
  }
  assert.equal(texts.size, 4);
  const seventy = insertManySql('tool_calls', rows(70));
  assert.deepEqual(seventy.map(({ params }) => params.length / 2), [64, 4, 1, 1]);
  assert.equal(seventy[3]!.sql, 'INSERT INTO tool_calls (id, user_id) VALUES (?, ?)');
  assert.equal(insertManySql('audit_events', [{ id: 'f', kind: 'k' }, { id: 'g', kind: 'l' }])[0]!.sql, 'INSERT INTO audit_events (id, kind) VALUES (?, ?)');
});
