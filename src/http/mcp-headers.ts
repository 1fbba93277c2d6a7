/**
 * The MCP 2026-07-28 request headers that mirror the body (transports/streamable-http "Standard Request Headers",
 * "Custom Headers from Tool Parameters"), one implementation for both directions: Gatehouse's upstream client
 * writes them, `/mcp` checks them.
 * - Value encoding: a value that is not plain visible ASCII travels in the Base64 sentinel form `=?base64?…?=`.
 * - `x-mcp-header`: the tool parameters a server designates in its `inputSchema` to be mirrored into
 *   `Mcp-Param-{Name}` headers, the constraints on those declarations, and the headers of one call's arguments.
 */

import { isJsonObject } from '../json-object.js';

const SAFE_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
const SENTINEL = /^=\?base64\?(.*)\?=$/s;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A value as a header carries it ("Value Encoding"): as it is when it is visible ASCII without surrounding whitespace,
 * else the Base64 of its UTF-8 in the sentinel form, which also wraps plain values that look like the sentinel.
 */
export function encodeHeaderValue(value: string): string {
  const plain = SAFE_VALUE.test(value) && !SENTINEL.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** A received header value with the sentinel form decoded; null when the sentinel holds no strict Base64 of UTF-8. */
export function decodeHeaderValue(value: string): string | null {
  const encoded = SENTINEL.exec(value)?.[1];
  if (encoded === undefined) return value;
  if (!BASE64.test(encoded)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded, 'base64'));
  } catch {
    return null;
  }
}

/** The methods whose `Mcp-Name` header mirrors a body field, and which field (`params.name` or `params.uri`). */
export const NAME_HEADER_FIELDS: ReadonlyMap<string, 'name' | 'uri'> = new Map([
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
]);

/** One parameter mirrored into `Mcp-Param-{name}`: its path of `properties` keys from the schema root. */
export interface ParamHeader {
  path: string[];
  name: string;
}

/** A tool's declarations: the parameters it mirrors, and what makes them invalid (empty when they are valid). */
export interface ParamHeaderDeclarations {
  declared: ParamHeader[];
  problems: string[];
}

/** RFC 9110 §5.1 `token` (`1*tchar`): no space, colon, control or non-ASCII character. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PRIMITIVE_TYPES = new Set(['string', 'integer', 'boolean']);
/** Keywords whose values are instances, not schemas: an `x-mcp-header` key inside them is data. */
const INSTANCE_KEYWORDS = new Set(['const', 'enum', 'default', 'examples']);


/** `string`, `integer` or `boolean`, possibly beside `null` (a null value omits the header). */
function primitiveType(type: unknown): boolean {
  if (typeof type === 'string') return PRIMITIVE_TYPES.has(type);
  return Array.isArray(type) && type.some((member) => PRIMITIVE_TYPES.has(member as string)) && type.every((member) => member === 'null' || PRIMITIVE_TYPES.has(member as string));
}

/**
 * The `x-mcp-header` declarations of an `inputSchema` ("Schema Extension"): every annotation must sit on a property
 * statically reachable from the root through `properties` keys alone (not through `items`, composition, conditionals,
 * `$ref` or `$defs`, which are never followed or resolved), name a non-empty token unique regardless of case, and
 * annotate a string, integer or boolean parameter.
 */
export function paramHeaderDeclarations(inputSchema: unknown): ParamHeaderDeclarations {
  const declared: ParamHeader[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();

  const visit = (node: unknown, path: string[] | undefined, where: string) => {
    if (Array.isArray(node)) return node.forEach((item, index) => visit(item, undefined, `${where}/${index}`));
    if (!isJsonObject(node)) return;
    if (Object.hasOwn(node, 'x-mcp-header')) {
      const name = node['x-mcp-header'];
      if (!path || path.length === 0) problems.push(`x-mcp-header at ${where || '/'} is not on a property reachable through properties alone`);
      else if (typeof name !== 'string' || !TOKEN.test(name)) problems.push(`x-mcp-header ${JSON.stringify(name)} of ${path.join('.')} is not a header name token`);
      else if (!primitiveType(node.type)) problems.push(`x-mcp-header ${name} annotates ${path.join('.')}, which is not a string, integer or boolean`);
      else if (seen.has(name.toLowerCase())) problems.push(`x-mcp-header ${name} of ${path.join('.')} repeats that of ${seen.get(name.toLowerCase())}`);
      else {
        seen.set(name.toLowerCase(), path.join('.'));
        declared.push({ path, name });
      }
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === 'x-mcp-header' || INSTANCE_KEYWORDS.has(key)) continue;
      if (key === 'properties' && isJsonObject(value)) {
        for (const [property, schema] of Object.entries(value)) visit(schema, path && [...path, property], `${where}/properties/${property}`);
      } else visit(value, undefined, `${where}/${key}`);
    }
  };
  visit(inputSchema, [], '');
  return { declared, problems };
}

/** The value at `path` in a call's arguments (undefined when any step is missing). */
export function argumentAt(args: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((node, key) => (isJsonObject(node) ? node[key] : undefined), args);
}

/**
 * The `Mcp-Param-*` headers of one call ("Client Behavior", "Value Encoding"): each declared parameter with a value
 * (neither absent nor null) as its string form, encoded; a value that no header can carry (an object, a fraction, an
 * integer outside ±(2^53−1)) is the caller's mistake, reported as `invalid`.
 */
export function paramHeaders(declared: readonly ParamHeader[], args: unknown): { headers: Record<string, string> } | { invalid: string } {
  const headers: Record<string, string> = {};
  for (const { path, name } of declared) {
    const value = argumentAt(args, path);
    if (value === undefined || value === null) continue;
    let text: string;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'boolean') text = String(value);
    else if (typeof value === 'number' && Number.isSafeInteger(value)) text = String(value);
    else return { invalid: `argument ${path.join('.')} must be a string, a boolean or a safe integer to travel in Mcp-Param-${name}` };
    headers[`mcp-param-${name.toLowerCase()}`] = encodeHeaderValue(text);
  }
  return { headers };
}
