/** A form's fields: a name sent once holds a string, a name repeated holds every value in order. */
export type FormFields = Record<string, string | string[]>;

/**
 * An application/x-www-form-urlencoded body, parsed as @fastify/formbody's parser (fast-querystring) parses it, so
 * that an endpoint served both through Fastify and outside it answers the same: pairs split on `&`, name and value
 * on the first `=` (a pair without one has the value ''), `+` is a space, a repeated name gives an array (which the
 * endpoints' schemas refuse), and a name or value whose percent-encoding is malformed or not UTF-8 is kept as sent
 * (with `+` replaced). Node's URLSearchParams and querystring decode such a value in part (U+FFFD, or only its valid
 * escapes), which would answer those requests differently; decodeURIComponent refuses exactly what fast-querystring's
 * decoder refuses. No prototype: `__proto__` is a name like any other.
 */
export function parseForm(text: string): FormFields {
  const fields: FormFields = Object.create(null);
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('&', start);
    if (end < 0) end = text.length;
    if (end > start) {
      const equals = text.indexOf('=', start);
      const hasValue = equals >= 0 && equals < end;
      const name = decodeFormPart(text.slice(start, hasValue ? equals : end));
      const value = hasValue ? decodeFormPart(text.slice(equals + 1, end)) : '';
      const earlier = fields[name];
      if (earlier === undefined) fields[name] = value;
      else if (typeof earlier === 'string') fields[name] = [earlier, value];
      else earlier.push(value);
    }
    start = end + 1;
  }
  return fields;
}

function decodeFormPart(raw: string): string {
  const spaced = raw.includes('+') ? raw.replaceAll('+', ' ') : raw;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
