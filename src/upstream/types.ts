import type { NegotiatedProtocol } from './streamable-http/protocol-eras.js';
import type { UpstreamClient } from './upstream-client.js';

export type ConnectionType = 'http' | 'sse' | 'stdio' | 'in_process';
/**
 * `oauth`: one connection an admin authorized; `per_user_oauth`: each user authorizes with their own account;
 * `token_exchange`: each user's token for the upstream comes from an RFC 8693 exchange of their company IdP token.
 */
export type UpstreamAuthType = 'none' | 'headers' | 'oauth' | 'per_user_oauth' | 'token_exchange';

/** Whether calls go through each user's own connection (their own upstream token). */
export const connectsPerUser = (settings: Pick<UpstreamSettings, 'auth_type'>): boolean =>
  settings.auth_type === 'per_user_oauth' || settings.auth_type === 'token_exchange';

/** `token_exchange` (auth_type `token_exchange`): where the user's token for the upstream is exchanged, and for what. */
export interface UpstreamTokenExchangeSettings {
  /** The id of the SSO provider (`sso.providers[].id`) whose IdP performs the exchange. */
  provider: string;
  /** RFC 8693 `audience`; absent: the upstream's URL (also sent as `resource`). */
  audience?: string;
  scopes?: string[];
}

/** `oauth_config` as stored: the client secret lives apart, sealed. */
export interface UpstreamOAuthSettings {
  client_id?: string;
  scopes?: string[];
  authorize_url?: string;
  token_url?: string;
  registration_url?: string;
  send_resource: boolean;
}

/** An upstream's settings as stored (secrets live apart, sealed). Field names follow Bifrost's where they exist. */
export interface UpstreamSettings {
  name: string;
  connection_type: ConnectionType;
  /** URL for `http` and `sse`. */
  connection_string?: string;
  /** Command for `stdio`; its environment values are secrets and stored sealed. */
  stdio_config?: { command: string; args: string[] };
  auth_type: UpstreamAuthType;
  /** Tool allow list of upstream (unprefixed) names; `["*"]` or absent: every tool. */
  tools_to_execute?: string[];
  /** Tool deny list; wins over the allow list. */
  tools_to_skip?: string[];
  /** false: tools and prompts keep their own names, where no other upstream's name collides (gateway/tool-names.ts); absent: true. */
  tool_name_prefix?: boolean;
  /** Usernames that may use this upstream; absent: every user. */
  allowed_users?: string[];
  /** Groups (from company sign-in) whose members may use this upstream; with allowed_users, either grants. */
  allowed_groups?: string[];
  /** Per-request timeout towards this upstream. */
  timeout_ms: number;
  oauth_config?: UpstreamOAuthSettings;
  token_exchange?: UpstreamTokenExchangeSettings;
  /** What a changed tool definition does: `enforce` withholds it until approved, `warn` lists it and audits; absent: `enforce`. */
  tool_pinning?: ToolPinning;
  /** Tools that appear after the first listing: `auto` pins them, `approve` holds them until approved; absent: `auto`. */
  new_tools?: NewTools;
  /** Calls per principal to this upstream, in fixed windows. */
  rate_limit?: RateLimit;
  /** Calls per principal to one tool (by its upstream name), in fixed windows. */
  tool_rate_limits?: Record<string, RateLimit>;
  /** Which calls the calling person approves before they are forwarded (gateway/call-approvals.ts); absent: `never`. */
  require_approval?: ApprovalMode;
  /** `require_approval` per tool (by its upstream name), overriding the upstream's. */
  tool_require_approval?: Record<string, ApprovalMode>;
}

export type ApprovalMode = 'never' | 'destructive' | 'always';

export type ToolPinning = 'enforce' | 'warn' | 'off';
export type NewTools = 'auto' | 'approve';
export interface RateLimit {
  calls: number;
  per_seconds: number;
}

export type UpstreamStatus =
  | { state: 'connecting' }
  /** `protocol`: the era (and revision) the upstream was found to speak on this connection. */
  | { state: 'connected'; since: number; protocol?: NegotiatedProtocol }
  | { state: 'error'; reason: string; retryAt: number | null }
  | { state: 'needs_auth'; reason: string };

/** A live upstream as the gateway sees it. */
export interface Upstream {
  readonly id: string;
  readonly settings: UpstreamSettings;
  status(): UpstreamStatus;
  /** The connected client (its `forward` is how requests are sent), or undefined while not connected. */
  client(): UpstreamClient | undefined;
}

export type UpstreamEvent =
  | { kind: 'tools_changed' | 'resources_changed' | 'prompts_changed'; upstreamId: string }
  | { kind: 'upstreams_changed' }
  /** A `notifications/message` the upstream sent (its LoggingMessageNotification params), for the gateway to relay. */
  | { kind: 'log'; upstreamId: string; params: unknown }
  /** A `notifications/resources/updated` the upstream sent for a resource someone subscribed to. */
  | { kind: 'resource_updated'; upstreamId: string; uri: string };

/** Every upstream the gateway exposes (the demo one while none is configured), kept connected. */
export interface UpstreamRegistry {
  all(): Upstream[];
  get(id: string): Upstream | undefined;
  /** Called on list changes upstream and when upstreams are added, changed or removed. */
  subscribe(listener: (event: UpstreamEvent) => void): () => void;
  /** Connects the upstreams; the server calls it when it starts (CLI commands never do). */
  start(): Promise<void>;
  close(): Promise<void>;
}
