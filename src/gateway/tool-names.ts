import { createHash } from 'node:crypto';

/**
 * Names of upstream tools and prompts as the gateway exposes them: `<upstream name>_<original name>`, or the
 * original name alone for an upstream whose `tool_name_prefix` is false.
 *
 * Upstream names match `^[a-z0-9][a-z0-9-]{0,23}$` (upstream/settings.ts): they hold no `_`, so the first `_`
 * of an exposed name always ends the upstream's part and two upstreams can never produce the same name.
 * MCP 2025-11-25 allows tool names of up to 128 characters including `.`, but clients such as Claude accept
 * only `^[a-zA-Z0-9_-]{1,64}$`; a name that would not fit is shortened deterministically and given a hash of
 * the exact (upstream, original) pair, so it stays unique and maps back exactly.
 *
 * Bare names (`tool_name_prefix: false`) never take a name away from anyone, so a name never silently changes
 * owner. An original name is exposed bare only when all of these hold; otherwise it is exposed prefixed, as above:
 * - it is itself a valid exposed name (at most 64 characters of `[a-zA-Z0-9_-]`);
 * - it does not start with any upstream's name and `_`: those names belong to the prefixed forms;
 * - no other unprefixed upstream lists the same name, and the list of every other unprefixed upstream is known.
 * Two unprefixed upstreams listing the same name therefore both show it prefixed (neither wins); each such
 * collision is reported, so an admin can rename the tool or turn the prefix back on.
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

/** Maps every original name of one upstream to a distinct exposed name, in list order; `bare` originals keep their name. */
export function upstreamNameMap(upstreamName: string, originals: Iterable<string>, bare: (original: string) => boolean = () => false): UpstreamNameMap {
  const toExposed = new Map<string, string>();
  const toOriginal = new Map<string, string>();
  for (const original of originals) {
    if (toExposed.has(original)) continue;
    let salt = 0;
    // A bare name cannot clash with a prefixed one: bare names never start with `<upstream>_`.
    let name = bare(original) ? original : exposedName(upstreamName, original);
    // Only a tool literally named like another's shortened form can clash; salt it until it is unique.
    while (toOriginal.has(name)) name = exposedName(upstreamName, original, ++salt);
    toExposed.set(original, name);
    toOriginal.set(name, original);
  }
  return { exposed: (original) => toExposed.get(original), original: (exposed) => toOriginal.get(exposed) };
}

/** One upstream's part in the naming: its list of original names, or undefined while that list is unknown. */
export interface NamedUpstream {
  id: string;
  name: string;
  prefixed: boolean;
  originals: readonly string[] | undefined;
}

/** An original name that an unprefixed upstream could not expose bare, and why. */
export interface NameCollision {
  upstream: string;
  original: string;
  exposedAs: string;
  reason: 'listed by another unprefixed upstream' | 'starts with an upstream name and _' | 'another unprefixed upstream has not listed yet';
}

/** The exposed names of every upstream's items of one kind, both ways, and the bare names refused. */
export interface ExposedNames {
  exposed(upstreamId: string, original: string): string | undefined;
  resolve(exposed: string): { upstreamId: string; original: string } | undefined;
  collisions: NameCollision[];
}

/** Applies the naming rule above to the items of one kind (tools, or prompts) of all upstreams at once. */
export function exposedNames(upstreams: readonly NamedUpstream[]): ExposedNames {
  const prefixes = upstreams.map((upstream) => `${upstream.name}${NAME_SEPARATOR}`);
  const unprefixed = upstreams.filter((upstream) => !upstream.prefixed);
  const listers = new Map<string, number>();
  for (const upstream of unprefixed) for (const original of new Set(upstream.originals ?? [])) listers.set(original, (listers.get(original) ?? 0) + 1);

  const maps = new Map<string, UpstreamNameMap>();
  const owners = new Map<string, { upstreamId: string; original: string }>();
  const collisions: NameCollision[] = [];
  for (const upstream of upstreams) {
    if (upstream.originals === undefined) continue;
    const othersUnknown = unprefixed.some((other) => other.id !== upstream.id && other.originals === undefined);
    const refusal = (original: string): NameCollision['reason'] | undefined => {
      if (prefixes.some((prefix) => original.startsWith(prefix))) return 'starts with an upstream name and _';
      if ((listers.get(original) ?? 0) > 1) return 'listed by another unprefixed upstream';
      if (othersUnknown) return 'another unprefixed upstream has not listed yet';
      return undefined;
    };
    const refused = new Map<string, NameCollision['reason']>();
    const bare = (original: string) => {
      if (upstream.prefixed || !EXPOSED_NAME.test(original)) return false;
      const reason = refusal(original);
      if (reason !== undefined) refused.set(original, reason);
      return reason === undefined;
    };
    const map = upstreamNameMap(upstream.name, upstream.originals, bare);
    maps.set(upstream.id, map);
    for (const original of upstream.originals) {
      const name = map.exposed(original)!;
      owners.set(name, { upstreamId: upstream.id, original });
    }
    for (const [original, reason] of refused) collisions.push({ upstream: upstream.name, original, exposedAs: map.exposed(original)!, reason });
  }
  return {
    exposed: (upstreamId, original) => maps.get(upstreamId)?.exposed(original),
    resolve: (exposed) => owners.get(exposed),
    collisions,
  };
}
