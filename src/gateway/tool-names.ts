import { createHash } from 'node:crypto';

/**
 * Names of upstream tools and prompts as the gateway exposes them: `<upstream name>_<original name>`.
 *
 * Upstream names match `^[a-z0-9][a-z0-9-]{0,23}$` (upstream/settings.ts): they hold no `_`, so the first `_`
 * of an exposed name always ends the upstream's part and two upstreams can never produce the same name.
 * MCP 2025-11-25 allows tool names of up to 128 characters including `.`, but clients such as Claude accept
 * only `^[a-zA-Z0-9_-]{1,64}$`; a name that would not fit is shortened deterministically and given a hash of
 * the exact (upstream, original) pair, so it stays unique and maps back exactly.
 */

export const EXPOSED_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
export const NAME_SEPARATOR = '_';
const HASH_LENGTH = 10;
const MAX_LENGTH = 64;

/** The exposed name of `original` from `upstreamName`. `salt` > 0 only to break a (contrived) clash inside one upstream. */
export function exposedName(upstreamName: string, original: string, salt = 0): string {
  const plain = `${upstreamName}${NAME_SEPARATOR}${original}`;
  if (salt === 0 && EXPOSED_NAME.test(plain)) return plain;
  const hash = createHash('sha256').update(`${upstreamName}\0${original}\0${salt}`).digest('hex').slice(0, HASH_LENGTH);
  const head = plain.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, MAX_LENGTH - HASH_LENGTH - 1);
  return `${head}_${hash}`;
}

/** Whether `exposed` can belong to the upstream called `upstreamName` (its prefix names it). */
export function hasUpstreamPrefix(exposed: string, upstreamName: string): boolean {
  return exposed.startsWith(`${upstreamName}${NAME_SEPARATOR}`);
}

/** The exposed names of one upstream's items, both ways. */
export interface UpstreamNameMap {
  exposed(original: string): string | undefined;
  original(exposed: string): string | undefined;
}

/** Maps every original name of one upstream to a distinct exposed name, in list order. */
export function upstreamNameMap(upstreamName: string, originals: Iterable<string>): UpstreamNameMap {
  const toExposed = new Map<string, string>();
  const toOriginal = new Map<string, string>();
  for (const original of originals) {
    if (toExposed.has(original)) continue;
    let salt = 0;
    let name = exposedName(upstreamName, original);
    // Only a tool literally named like another's shortened form can clash; salt it until it is unique.
    while (toOriginal.has(name)) name = exposedName(upstreamName, original, ++salt);
    toExposed.set(original, name);
    toOriginal.set(name, original);
  }
  return { exposed: (original) => toExposed.get(original), original: (exposed) => toOriginal.get(exposed) };
}
