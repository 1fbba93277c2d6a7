/** Tool-call arguments as the audit may keep them: secrets blanked, size bounded. Pure functions. */

import { isJsonObject } from '../json-object.js';

export const REDACTED = '[redacted]';

/** Recorded arguments are capped so one huge call cannot bloat the audit table. */
export const MAX_RECORDED_ARGUMENT_BYTES = 8 * 1024;

/** Lower case without separators, so `api_key`, `API-Key` and `apiKey` compare equal. */
const normalise = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * A predicate for keys to blank: a key matches when, ignoring case and separators, it contains one of `redactKeys`.
 * Containment rather than equality errs towards hiding: `access_token`, `db_password` and `x-api-key` are caught by
 * the defaults, at the price of blanking the odd harmless key such as `max_tokens`.
 */
export function sensitiveKeyMatcher(redactKeys: readonly string[]): (key: string) => boolean {
  const needles = redactKeys.map(normalise).filter((needle) => needle.length > 0);
  return (key) => {
    const haystack = normalise(key);
    return needles.some((needle) => haystack.includes(needle));
  };
}

/** A copy of `value` in which every value under a sensitive key, at any depth, is replaced by `[redacted]`. */
export function redactArguments(value: unknown, isSensitive: (key: string) => boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => redactArguments(item, isSensitive));
  if (isJsonObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, isSensitive(key) ? REDACTED : redactArguments(inner, isSensitive)]),
    );
  }
  return value;
}

/**
 * JSON text of already-redacted arguments, at most `maxBytes` UTF-8 bytes. Past the cap the text stays valid JSON:
 * `{"truncated": true, "bytes": <full size>, "preview": "<the start of the JSON text>"}`.
 */
export function boundedJson(value: unknown, maxBytes: number = MAX_RECORDED_ARGUMENT_BYTES): string {
  const text = JSON.stringify(value ?? null);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= maxBytes) return text;
  const wrap = (preview: string) => JSON.stringify({ truncated: true, bytes, preview });
  // Escaping can make the preview longer than its source, so shrink until the wrapper fits.
  let length = Math.max(0, maxBytes - wrap('').length);
  while (length > 0 && Buffer.byteLength(wrap(text.slice(0, length)), 'utf8') > maxBytes) {
    length = Math.floor(length * 0.9);
  }
  return wrap(text.slice(0, length));
}
