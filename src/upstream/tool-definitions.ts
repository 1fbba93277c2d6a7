import { createHash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { isJsonObject } from '../json-object.js';

/**
 * What of a tool is pinned: everything that tells a model what the tool does and takes. `_meta` and `icons` are left
 * out: they do not reach the model's instructions, and servers vary them freely.
 */
export const PINNED_FIELDS = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;
type PinnedField = (typeof PINNED_FIELDS)[number];

export type ToolDefinition = Partial<Pick<Tool, PinnedField>>;

/** JSON with object keys sorted at every level and undefined members dropped: one text per definition. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  if (isJsonObject(value)) {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

export function definitionOf(tool: Tool): ToolDefinition {
  const definition: Record<string, unknown> = {};
  for (const field of PINNED_FIELDS) if (tool[field] !== undefined) definition[field] = tool[field];
  return definition as ToolDefinition;
}

/** The pinned text of a tool's definition and its SHA-256 (hex). */
export function pinnedForm(tool: Tool): { definition: string; hash: string } {
  const definition = canonicalJson(definitionOf(tool));
  return { definition, hash: createHash('sha256').update(definition).digest('hex') };
}

/** The fields whose values differ between two definitions, each with both values (absent: undefined). */
export function definitionDiff(before: ToolDefinition, after: ToolDefinition): Record<string, { before: unknown; after: unknown }> {
  const diff: Record<string, { before: unknown; after: unknown }> = {};
  for (const field of PINNED_FIELDS) {
    if (canonicalJson(before[field] ?? null) !== canonicalJson(after[field] ?? null)) diff[field] = { before: before[field], after: after[field] };
  }
  return diff;
}
