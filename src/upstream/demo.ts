import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/**
 * The built-in demo upstream: an in-process MCP server with a few harmless tools, so a fresh Gatehouse has
 * something to expose at /mcp before any real upstream is configured (`--no-demo` turns it off).
 */
export const DEMO_UPSTREAM_NAME = 'gatehouse-demo';

// Every demo tool only computes an answer: it reads and changes nothing, and reaches nothing outside the process.
const harmless: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

/** Whether the runtime's time zone database knows `timeZone` (an IANA name such as `Europe/Paris`). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** `instant` as ISO 8601 wall time in `timeZone` with its UTC offset, e.g. `2025-03-01T13:00:00+01:00`. */
export function isoInTimeZone(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'longOffset',
  }).formatToParts(instant);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  // longOffset reads `GMT+01:00`, or plain `GMT` at offset zero.
  const offset = part('timeZoneName').replace(/^GMT/, '') || '+00:00';
  return `${part('year')}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}:${part('second')}${offset}`;
}

/** A new demo server; each MCP session needs its own, since an McpServer serves one transport at a time. */
export function createDemoUpstream(options: { now?: () => Date } = {}): McpServer {
  const now = options.now ?? (() => new Date());
  const server = new McpServer(
    { name: DEMO_UPSTREAM_NAME, title: 'Gatehouse demo upstream', version: '1.0.0' },
    { instructions: 'Harmless demonstration tools built into Gatehouse; they touch no data and no network.' },
  );

  server.registerTool(
    'echo',
    {
      title: 'Echo',
      description: 'Returns the given text unchanged. Useful to check that a client reaches the gateway.',
      inputSchema: { text: z.string().max(10_000).describe('The text to send back') },
      annotations: harmless,
    },
    ({ text: value }) => text(value),
  );

  server.registerTool(
    'add',
    {
      title: 'Add two numbers',
      description: 'Returns the sum of a and b.',
      inputSchema: { a: z.number().describe('First addend'), b: z.number().describe('Second addend') },
      outputSchema: { sum: z.number().describe('a + b') },
      annotations: harmless,
    },
    ({ a, b }) => ({ ...text(String(a + b)), structuredContent: { sum: a + b } }),
  );

  server.registerTool(
    'current_time',
    {
      title: 'Current time',
      description: 'Returns the current time as ISO 8601: in UTC, or as wall time in the given IANA time zone.',
      inputSchema: {
        timeZone: z.string().max(100).optional().describe('An IANA time zone such as Europe/Paris; UTC when omitted'),
      },
      annotations: { ...harmless, idempotentHint: false },
    },
    ({ timeZone }) => {
      const instant = now();
      if (timeZone === undefined) return text(instant.toISOString());
      // A bad zone is the caller's mistake: answer with a tool error the model can read and correct.
      if (!isKnownTimeZone(timeZone)) {
        return { ...text(`Unknown time zone ${JSON.stringify(timeZone)}: give an IANA name such as Europe/Paris or UTC.`), isError: true };
      }
      return text(isoInTimeZone(instant, timeZone));
    },
  );

  return server;
}
