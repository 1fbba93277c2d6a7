import assert from 'node:assert/strict';
import { it } from 'node:test';
import { preparedStatements } from '../../src/store/postgres.js';

it('a statement is named by its text, once: the same text gets the same name, another text another', () => {
  const statementOf = preparedStatements();
  const first = statementOf('SELECT * FROM users WHERE id = ?');
  assert.equal(first.text, 'SELECT * FROM users WHERE id = $1');
  assert.match(first.name ?? '', /^gh_[0-9a-f]{24}$/);
  assert.equal(statementOf('SELECT * FROM users WHERE id = ?'), first);
  assert.notEqual(statementOf('SELECT * FROM users WHERE username = ?').name, first.name);
});

it('several statements in one text run unnamed (they cannot be prepared)', () => {
  assert.deepEqual(preparedStatements()('DELETE FROM a; DELETE FROM b'), { text: 'DELETE FROM a; DELETE FROM b' });
});

it('beyond the limit of named texts a new text runs unnamed, so no connection prepares without bound', () => {
  const statementOf = preparedStatements(2);
  const named = [statementOf('SELECT 1'), statementOf('SELECT 2')];
  assert.ok(named.every((statement) => statement.name));
  assert.deepEqual(statementOf('SELECT 3'), { text: 'SELECT 3' });
  assert.equal(statementOf('SELECT 1'), named[0], 'the texts named before stay named');
});
