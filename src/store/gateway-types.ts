/** Records and store contracts of the gateway. Times are epoch ms. */

export interface UpstreamRecord {
  id: string;
  /** Short, unique; also the prefix of its tools' names. */
  name: string;
  /** `config`: declared in the config file (read-only through the API); `api`: managed at runtime. */
  source: 'config' | 'api';
  /** The upstream's settings as JSON text, without secrets. */
  config: string;
  /** AEAD-sealed JSON of its secrets (static headers, stdio environment), or null. */
  sealedSecrets: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface UpstreamStore {
  list(): Promise<UpstreamRecord[]>;
  find(id: string): Promise<UpstreamRecord | undefined>;
  findByName(name: string): Promise<UpstreamRecord | undefined>;
  create(upstream: UpstreamRecord): Promise<void>;
  update(id: string, patch: Pick<UpstreamRecord, 'name' | 'config' | 'sealedSecrets' | 'updatedAt'>): Promise<boolean>;
  /** Deletes the upstream and its tool pins. */
  delete(id: string): Promise<boolean>;
}

/** `input_required`: a 2026-07-28 upstream asked the client for input; the client's retry is recorded as a call of its own. */
export type ToolCallOutcome = 'ok' | 'tool_error' | 'upstream_error' | 'timeout' | 'cancelled' | 'denied' | 'input_required';

export interface ToolCallRecord {
  id: string;
  at: number;
  userId: string | null;
  clientId: string | null;
  upstreamId: string;
  upstreamName: string;
  tool: string;
  outcome: ToolCallOutcome;
  /** A short reason when the outcome is not `ok`; never a credential. */
  error: string | null;
  durationMs: number;
  /** Redacted arguments as JSON text, only when argument recording is on. */
  arguments: string | null;
}

export interface ToolCallFilter {
  userId?: string;
  clientId?: string;
  upstreamId?: string;
  /** Matches the upstream's id or its name at the time of the call (the demo upstream and deleted ones included). */
  upstream?: string;
  tool?: string;
  outcome?: ToolCallOutcome;
  since?: number;
  /** Only records strictly before this time. */
  until?: number;
  /** Paging: records strictly older than this (time, id) cursor. */
  before?: { at: number; id: string };
  limit: number;
}

export interface ToolCallStore {
  append(call: ToolCallRecord): Promise<void>;
  /** Several calls, written all or none (in a few statements of fixed sizes: store/sql/rows.ts). */
  appendMany(calls: readonly ToolCallRecord[]): Promise<void>;
  list(filter: ToolCallFilter): Promise<ToolCallRecord[]>;
  /** How many calls since `since`, by outcome (outcomes without calls left out). */
  countByOutcomeSince(since: number): Promise<Partial<Record<ToolCallOutcome, number>>>;
}

/** An upstream tool's definition as it was approved (pinned). */
export interface ToolPinRecord {
  upstreamId: string;
  /** The tool's name at the upstream (unprefixed). */
  tool: string;
  /** SHA-256 (hex) of the definition's canonical JSON. */
  definitionHash: string;
  /** The pinned definition as canonical JSON text. */
  definition: string;
  pinnedAt: number;
  /** The user who approved it; null when pinned on first sight. */
  pinnedBy: string | null;
}

export interface ToolPinStore {
  /** Every pin of these upstreams. */
  list(upstreamIds: readonly string[]): Promise<ToolPinRecord[]>;
  /** Pins each tool not pinned yet; an existing pin is kept (the first replica to see a tool wins). */
  pinIfAbsent(pins: readonly ToolPinRecord[]): Promise<void>;
  /** Pins this definition, replacing the tool's pin (an approval). */
  replace(pin: ToolPinRecord): Promise<void>;
  /** Notes that a pinned tool now shows the definition `hash`; true only for the first to note that hash. */
  noteChange(upstreamId: string, tool: string, hash: string): Promise<boolean>;
}

export type CallApprovalStatus = 'pending' | 'approved' | 'denied' | 'spent';

/** A tool call held until the calling person approves it (gateway/call-approvals.ts). */
export interface CallApprovalRecord {
  /** Public and unguessable: it is the last segment of the approval link. */
  id: string;
  userId: string;
  upstreamId: string;
  upstreamName: string;
  /** The tool's name at the upstream, and the name the client called. */
  tool: string;
  exposedName: string;
  /** Keyed hash of the arguments' canonical JSON: the approved call is the call with exactly these arguments. */
  argumentsHash: string;
  /** The arguments as the page shows them: redacted as the audit redacts them, size bounded. */
  arguments: string;
  status: CallApprovalStatus;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
}

export interface CallApprovalStore {
  create(approval: CallApprovalRecord): Promise<void>;
  find(id: string): Promise<CallApprovalRecord | undefined>;
  /** The newest approval of this person for this call that is not spent. */
  findOpen(call: Pick<CallApprovalRecord, 'userId' | 'upstreamId' | 'tool' | 'argumentsHash'>): Promise<CallApprovalRecord | undefined>;
  /**
   * Compare-and-set of the status (`from` -> `to`), and, with `liveAt`, only while the approval has not expired at
   * that time; `expiresAt` sets a new expiry with it. True only for the one caller that changed the row.
   */
  transition(id: string, from: CallApprovalStatus, to: CallApprovalStatus, at: number, options?: { liveAt?: number; expiresAt?: number }): Promise<boolean>;
}

export interface GatewayStore {
  upstreams: UpstreamStore;
  toolCalls: ToolCallStore;
  mcpSessions: McpSessionStore;
  toolPins: ToolPinStore;
  callApprovals: CallApprovalStore;
  virtualServers: VirtualServerStore;
}

/** A curated tool set served at /mcp/{name} (gateway/virtual-servers.ts). */
export interface VirtualServerRecord {
  name: string;
  description: string | null;
  /** Gateway tool names (as /mcp lists them). */
  tools: string[];
  /** Null: not restricted by users (or groups); with both null, every user. */
  allowedUsers: string[] | null;
  allowedGroups: string[] | null;
  createdAt: number;
  updatedAt: number;
}

export interface VirtualServerStore {
  list(): Promise<VirtualServerRecord[]>;
  find(name: string): Promise<VirtualServerRecord | undefined>;
  /** Throws the backend's unique violation when the name is taken. */
  create(server: VirtualServerRecord): Promise<void>;
  update(server: Omit<VirtualServerRecord, 'createdAt'>): Promise<boolean>;
  delete(name: string): Promise<boolean>;
}

/** What a replica needs to serve an MCP session it did not open (gateway/mcp-sessions.ts). */
export interface McpSessionRecord {
  id: string;
  userId: string;
  username: string;
  /** The OAuth client of the opener's token; null for an API key. */
  clientId: string | null;
  via: 'access_token' | 'api_key';
  /**
   * The API key that opened it (its id): only that key may use the session. Null for an access token, and for an
   * API key session stored before this was recorded (migration 013), which no key may use.
   */
  apiKeyId: string | null;
  /** The version agreed at initialize. */
  protocolVersion: string;
  /** JSON of the client's `capabilities` and `clientInfo` as declared at initialize. */
  clientCapabilities: string;
  clientInfo: string;
  /** Whether the client has sent `notifications/initialized`. */
  initialized: boolean;
  /** Set by `logging/setLevel`; null until then. */
  logLevel: string | null;
  /** The virtual server (its name) the session was opened on; null for /mcp itself. */
  virtualServer: string | null;
  createdAt: number;
  lastSeenAt: number;
}

export interface McpSessionStore {
  create(session: McpSessionRecord): Promise<void>;
  find(id: string): Promise<McpSessionRecord | undefined>;
  update(id: string, patch: Partial<Pick<McpSessionRecord, 'initialized' | 'logLevel'>>): Promise<void>;
  /** Marks sessions used at `at` (never moving a later time back). */
  touch(ids: readonly string[], at: number): Promise<void>;
  delete(id: string): Promise<boolean>;
  /** Deletes `id` only if it was last used at or before `cutoff`; whether it did. */
  deleteIfIdle(id: string, cutoff: number): Promise<boolean>;
  /** Up to `limit` sessions last used at or before `cutoff`, deleted; their ids. */
  deleteIdle(cutoff: number, limit: number): Promise<string[]>;
  /** A user's sessions on every replica, least recently used first (id and last use only). */
  listForUser(userId: string): Promise<Array<Pick<McpSessionRecord, 'id' | 'lastSeenAt'>>>;
  /** Sessions on every replica last used at or after `since`. */
  countUsedSince(since: number): Promise<number>;
}
