import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { parseForm } from '../../src/http/form-urlencoded.js';

// The parser @fastify/formbody gives Fastify's routes, resolved from formbody itself: the reference the front doors must match.
const fromFormbody = createRequire(createRequire(import.meta.url).resolve('@fastify/formbody'));
const { parse: fastifyParse } = fromFormbody('fast-querystring') as { parse(text: string): Record<string, unknown> };

const pieces = ['a', 'b', '=', '&', '+', '%', '2', '0', 'C', '3', 'A', 'z', 'é', '😀', '%C3%A9', '%E2%82', '%ED%A0%80', '%F4%90%80%80', '%C0%80', '%25', '%2B', '%26', '%3D', '__proto__'];

describe('parseForm', () => {
  it('gives what @fastify/formbody gives: repeated names as arrays, + as space, malformed escapes kept as sent', () => {
    assert.deepEqual({ ...parseForm('a=1&a=2&b=x+y&c=%41%zz&d&=e&&f=g=h') }, { a: ['1', '2'], b: 'x y', c: '%41%zz', d: '', '': 'e', f: 'g=h' });
    assert.equal(Object.getPrototypeOf(parseForm('__proto__=x')), null);
    assert.equal(parseForm('__proto__=x')['__proto__'], 'x');
  });

  it('agrees with fast-querystring on 20,000 random bodies made of delimiters, escapes (valid, malformed, not UTF-8) and text', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % pieces.length;
    for (let i = 0; i < 20_000; i++) {
      let text = '';
      for (let j = next() % 12; j > 0; j--) text += pieces[next()];
      assert.deepEqual(Object.entries(parseForm(text)), Object.entries(fastifyParse(text)), text);
    }
  });
});
