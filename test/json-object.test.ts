import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isJsonObject } from '../src/json-object.js';

describe('isJsonObject', () => {
  it('accepts a parsed JSON object, empty or not', () => {
    assert.equal(isJsonObject(JSON.parse('{}')), true);
    assert.equal(isJsonObject(JSON.parse('{"a":[1]}')), true);
  });

  it('refuses arrays, null and every other JSON value', () => {
    for (const text of ['[]', '[{}]', 'null', '1', '"{}"', 'true']) assert.equal(isJsonObject(JSON.parse(text)), false, text);
    assert.equal(isJsonObject(undefined), false);
  });
});
