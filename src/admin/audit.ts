import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { ToolCallFilter, ToolCallOutcome, ToolCallRecord } from '../store/gateway-types.js';
import type { UserService } from '../identity/users.js';
import type { OpenedStore } from '../store/index.js';

const OUTCOMES = ['ok', 'tool_error', 'upstream_error', 'timeout', 'cancelled', 'denied', 'input_required'] as const satisfies readonly ToolCallOutcome[];
export const AUDIT_PAGE_MAX = 500;
const EXPORT_PAGE = AUDIT_PAGE_MAX;

/** The paging cursor: where the previous page ended, `(at, id)`, as base64url JSON. Opaque to clients. */
type Cursor = { at: number; id: string };
export const encodeCursor = (call: Pick<ToolCallRecord, 'at' | 'id'>): string => Buffer.from(JSON.stringify([call.at, call.id])).toString('base64url');

function decodeCursor(text: string): Cursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string') {
      return { at: value[0] as number, id: value[1] };
    }
  } catch {
    // Not JSON: refused below like any other malformed cursor.
  }
  return undefined;
}

export const auditFilterQuery = z.strictObject({
  user: z.string().min(1).max(256).optional().describe('Only the calls of this username'),
  client_id: z.string().min(1).max(2048).optional().describe('Only the calls made through this OAuth client'),
  upstream: z.string().min(1).max(256).optional().describe("Only the calls to this upstream, by id or by its name at the time of the call"),
  tool: z.string().min(1).max(256).optional().describe("Only the calls of this tool (the upstream's own name, without prefix)"),
  outcome: z.enum(OUTCOMES).optional().describe('Only the calls with this outcome'),
  since: z.iso
    .datetime({ offset: true })
    .transform((text) => Date.parse(text))
    .optional()
    .describe('Only the calls at or after this time (ISO 8601)'),
  until: z.iso
    .datetime({ offset: true })
    .transform((text) => Date.parse(text))
    .optional()
    .describe('Only the calls before this time (ISO 8601)'),
});
export const auditListQuery = auditFilterQuery.extend({
  limit: z.coerce.number().int().min(1).max(AUDIT_PAGE_MAX).default(100).describe(`Page size, 1 to ${AUDIT_PAGE_MAX} (default 100)`),
  cursor: z
    .string()
    .max(1000)
    .refine((text) => decodeCursor(text) !== undefined, 'the cursor is not one this API returned')
    .transform((text) => decodeCursor(text)!)
    .optional()
    .describe('`next_cursor` of the previous page'),
});

/** One audit record as the API shows it. */
export interface AuditEntryView {
  id: string;
  at: string;
  user: string | null;
  user_id: string | null;
  client_id: string | null;
  upstream: string;
  upstream_id: string;
  tool: string;
  outcome: ToolCallOutcome;
  error: string | null;
  duration_ms: number;
  arguments: unknown;
}

function viewOf(call: ToolCallRecord, usernames: Map<string, string>): AuditEntryView {
  return {
    id: call.id,
    at: new Date(call.at).toISOString(),
    user: call.userId === null ? null : usernames.get(call.userId) ?? null,
    user_id: call.userId,
    client_id: call.clientId,
    upstream: call.upstreamName,
    upstream_id: call.upstreamId,
    tool: call.tool,
    outcome: call.outcome,
    error: call.error,
    duration_ms: call.durationMs,
    arguments: call.arguments === null ? null : (JSON.parse(call.arguments) as unknown),
  };
}

/** What the audit routes read: the tool-call and security-event records, and users by name. */
export interface AuditRouteDeps {
  store: Pick<OpenedStore, 'toolCalls' | 'audit' | 'users'>;
  users: Pick<UserService, 'find' | 'list'>;
}

/**
 * `GET /api/audit` (one page, newest first) and `GET /api/audit/export` (every matching record as JSON Lines),
 * both with the same filters. Admins only, like everything under /api by default.
 */
export const auditRoutes: FastifyPluginAsync<{ deps: AuditRouteDeps }> = async (api, { deps }) => {
  const { store } = deps;

  /** Step: the query's filters in store terms; null when they can match nothing (an unknown username). */
  async function storeFilter(query: z.output<typeof auditFilterQuery>): Promise<Omit<ToolCallFilter, 'limit' | 'before'> | null> {
    const user = query.user === undefined ? undefined : await deps.users.find(query.user);
    if (query.user !== undefined && !user) return null;
    return { userId: user?.id, clientId: query.client_id, upstream: query.upstream, tool: query.tool, outcome: query.outcome, since: query.since, until: query.until };
  }

  /** Step: usernames by id, read once per request; a deleted user's records keep their id and show no name. */
  async function usernames(): Promise<Map<string, string>> {
    return new Map((await deps.users.list()).map((user) => [user.id, user.username]));
  }

  api.get('/audit', async (request) => {
    const query = auditListQuery.parse(request.query);
    const filter = await storeFilter(query);
    if (!filter) return { entries: [], next_cursor: null };
    // One record more than asked tells whether another page follows.
    const calls = await store.toolCalls.list({ ...filter, before: query.cursor, limit: query.limit + 1 });
    const page = calls.slice(0, query.limit);
    const names = await usernames();
    return {
      entries: page.map((call) => viewOf(call, names)),
      next_cursor: calls.length > query.limit ? encodeCursor(page.at(-1)!) : null,
    };
  });

  api.get('/audit/export', async (request, reply) => {
    const query = auditFilterQuery.parse(request.query);
    const filter = await storeFilter(query);
    const names = await usernames();
    async function* lines(): AsyncGenerator<string> {
      if (!filter) return;
      let before: Cursor | undefined;
      for (;;) {
        const calls = await store.toolCalls.list({ ...filter, before, limit: EXPORT_PAGE });
        for (const call of calls) yield `${JSON.stringify(viewOf(call, names))}\n`;
        if (calls.length < EXPORT_PAGE) return;
        before = calls.at(-1)!;
      }
    }
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('content-disposition', 'attachment; filename="gatehouse-audit.jsonl"')
      .send(Readable.from(lines()));
  });
};

export const securityEventsQuery = z.strictObject({
  kind: z.string().regex(/^[a-z_]+\.[a-z_]+$/, 'is an event kind such as upstream.needs_auth').optional().describe('Only events of this kind, e.g. `upstream.needs_auth`, `grant.revoked`'),
  user: z.string().min(1).max(256).optional().describe('Only the events of this username'),
  before: z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)).optional().describe('Only events strictly before this time (paging: the `at` of the last event of the previous page)'),
  limit: z.coerce.number().int().min(1).max(AUDIT_PAGE_MAX).default(100).describe(`Page size, 1 to ${AUDIT_PAGE_MAX} (default 100)`),
});

/**
 * `GET /api/audit/events`: the security events besides tool calls, newest first: registrations, consents, grants,
 * reuse of codes and refresh tokens, and upstream connections authorized, needing authorization again, disconnected.
 */
export const securityEventRoutes: FastifyPluginAsync<{ deps: AuditRouteDeps }> = async (api, { deps }) => {
  api.get('/audit/events', async (request) => {
    const query = securityEventsQuery.parse(request.query);
    const user = query.user === undefined ? undefined : await deps.store.users.findByUsername(query.user);
    if (query.user !== undefined && !user) return { events: [] };
    const events = await deps.store.audit.list({
      limit: query.limit,
      ...(query.kind ? { kind: query.kind } : {}),
      ...(user ? { userId: user.id } : {}),
      ...(query.before !== undefined ? { before: query.before } : {}),
    });
    return {
      events: events.map((event) => ({
        id: event.id,
        at: new Date(event.at).toISOString(),
        kind: event.kind,
        user_id: event.userId,
        client_id: event.clientId,
        grant_id: event.grantId,
        ip: event.ip,
        detail: JSON.parse(event.detail) as unknown,
      })),
    };
  });
};
