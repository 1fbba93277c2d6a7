import { z } from 'zod';
import { open, seal } from '../crypto/aead.js';
import type { UpstreamRecord } from '../store/index.js';
import type { UpstreamOAuthSettings, UpstreamSettings } from './types.js';

/**
 * Upstream settings as admins write them (config file and /api/mcp/client), with Bifrost's field names.
 * Secrets (static headers, stdio environment) are split off here and stored sealed, apart from the settings.
 */

export const UPSTREAM_NAME = /^[a-z0-9][a-z0-9-]{0,23}$/;

export const upstreamName = z
  .string()
  .regex(UPSTREAM_NAME, 'must be 1 to 24 lowercase letters, digits or dashes, starting with a letter or digit (it prefixes the tool names)');

// RFC 9110 token for names; values without CR, LF or NUL so no header can be smuggled in.
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, 'is not a valid HTTP header name');
const headerValue = z.string().max(8192).regex(/^[^\r\n\0]*$/, 'must not contain line breaks');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'is not a valid environment variable name');

const httpUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an absolute http:// or https:// URL, e.g. https://mcp.example.com/mcp');

const toolNames = z.array(z.string().min(1).max(128)).max(1000);

// Windows end within a day: the retention sweep drops rate windows older than that.
const rateLimit = z.strictObject({
  calls: z.number().int().min(1).max(1_000_000),
  per_seconds: z.number().int().min(1).max(86_400),
});

const approvalMode = z
  .enum(['never', 'destructive', 'always'])
  .describe('never; destructive: tools whose annotations say destructiveHint: true or do not say readOnlyHint: true; always');

const oauthAuthTypes = ['oauth', 'per_user_oauth'] as const;

/** `oauth_config` (Bifrost's name): explicit credentials and endpoints, each optional; discovery fills the rest. */
const oauthConfig = z.strictObject({
  client_id: z.string().min(1).max(1024).optional(),
  client_secret: z.string().min(1).max(4096).optional().describe('Secret: stored sealed, never returned'),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,200}$/, 'is not a valid OAuth scope')).max(100).optional(),
  authorize_url: httpUrl.optional(),
  token_url: httpUrl.optional(),
  registration_url: httpUrl.optional(),
  send_resource: z.boolean().default(true).describe('Send RFC 8707 `resource`; turn off for servers that reject it'),
});

/** `token_exchange`: RFC 8693 at the company IdP of an SSO provider, the user's IdP token as the subject. */
const tokenExchangeConfig = z.strictObject({
  provider: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'is the id of an sso provider').describe('The `sso.providers[].id` whose IdP exchanges the tokens'),
  audience: z.string().min(1).max(2048).optional().describe('RFC 8693 audience; absent: the upstream URL (always sent as resource)'),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,200}$/, 'is not a valid OAuth scope')).max(100).optional(),
});

/** The body of `POST /api/mcp/client` and one entry of `upstreams` in the config file. */
export const upstreamInput = z
  .strictObject({
    name: upstreamName,
    connection_type: z.enum(['http', 'sse', 'stdio']),
    connection_string: httpUrl.optional(),
    stdio_config: z
      .strictObject({
        command: z.string().min(1).max(1024),
        args: z.array(z.string().max(4096)).max(100).default([]),
        envs: z.record(envName, z.string().max(32_768)).optional().describe('Secret: stored sealed, never returned'),
      })
      .optional(),
    auth_type: z.enum(['none', 'headers', ...oauthAuthTypes, 'token_exchange']).default('none'),
    headers: z.record(headerName, headerValue).optional().describe('Secret: stored sealed, only the names are returned'),
    oauth_config: oauthConfig.optional(),
    token_exchange: tokenExchangeConfig.optional().describe('Required with auth_type "token_exchange"'),
    tools_to_execute: toolNames.default(['*']),
    tools_to_skip: toolNames.default([]),
    tool_name_prefix: z
      .boolean()
      .default(true)
      .describe('false: expose tools and prompts under their own names; a name another upstream could claim is still prefixed'),
    allowed_users: z.array(z.string().min(1).max(64)).max(10_000).optional(),
    allowed_groups: z.array(z.string().min(1).max(256)).max(10_000).optional(),
    timeout_ms: z.number().int().min(100).max(600_000).default(30_000),
    tool_pinning: z
      .enum(['enforce', 'warn', 'off'])
      .default('enforce')
      .describe('A tool whose definition changed since it was pinned: enforce withholds it until approved; warn lists it, logs and audits; off ignores pins'),
    new_tools: z.enum(['auto', 'approve']).default('auto').describe('Tools new after the first listing: auto pins them; approve holds them as pending until approved'),
    rate_limit: rateLimit.optional().describe('Calls per user (or service account) to this upstream per window of per_seconds'),
    tool_rate_limits: z.record(z.string().min(1).max(128), rateLimit).optional().describe('Calls per user to one tool (its upstream name) per window'),
    require_approval: approvalMode.default('never').describe('Which calls the calling person must approve on a Gatehouse page before they are forwarded'),
    tool_require_approval: z.record(z.string().min(1).max(128), approvalMode).optional().describe('require_approval for one tool (its upstream name), overriding the upstream\'s'),
  })
  .superRefine((input, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    const oauth = (oauthAuthTypes as readonly string[]).includes(input.auth_type);
    if (oauth && input.connection_type === 'stdio') issue('auth_type', `"${input.auth_type}" is for http and sse upstreams; a stdio upstream takes its secrets in stdio_config.envs`);
    if (!oauth && input.oauth_config) issue('oauth_config', 'is used only when auth_type is "oauth" or "per_user_oauth"');
    const exchange = input.auth_type === 'token_exchange';
    if (exchange && input.connection_type === 'stdio') issue('auth_type', '"token_exchange" is for http and sse upstreams');
    if (exchange && !input.token_exchange) issue('token_exchange', 'is required when auth_type is "token_exchange" ({provider, audience?, scopes?})');
    if (!exchange && input.token_exchange) issue('token_exchange', 'is used only when auth_type is "token_exchange"');
    if (input.oauth_config?.client_secret !== undefined && input.oauth_config.client_id === undefined) issue('oauth_config.client_secret', 'needs oauth_config.client_id');
    if (input.connection_type === 'stdio') {
      if (!input.stdio_config) issue('stdio_config', 'is required when connection_type is "stdio" ({command, args, envs})');
      if (input.connection_string !== undefined) issue('connection_string', 'is for http and sse upstreams; a stdio upstream takes stdio_config');
      if (input.auth_type === 'headers') issue('auth_type', '"headers" is for http and sse upstreams; give a stdio upstream its secrets in stdio_config.envs');
    } else {
      if (input.connection_string === undefined) issue('connection_string', `is required when connection_type is "${input.connection_type}"`);
      if (input.stdio_config) issue('stdio_config', 'is for stdio upstreams only');
    }
    if (input.auth_type !== 'headers' && input.headers && Object.keys(input.headers).length > 0) {
      issue('headers', 'are sent only when auth_type is "headers"; set auth_type to "headers" or drop them');
    }
  });

export type UpstreamInput = z.infer<typeof upstreamInput>;

export interface UpstreamSecrets {
  headers?: Record<string, string>;
  envs?: Record<string, string>;
  /** The admin-configured OAuth client secret (`oauth_config.client_secret`). */
  oauth_client_secret?: string;
}

/**
 * Splits a parsed input into stored settings and secrets. Secrets the input leaves out are taken from
 * `kept` (an update that does not repeat them keeps them); then `headers` auth must end up with headers.
 */
export function settingsFromInput(input: UpstreamInput, kept: UpstreamSecrets = {}): { settings: UpstreamSettings; secrets: UpstreamSecrets } {
  const settings: UpstreamSettings = {
    name: input.name,
    connection_type: input.connection_type,
    ...(input.connection_string !== undefined ? { connection_string: input.connection_string } : {}),
    ...(input.stdio_config ? { stdio_config: { command: input.stdio_config.command, args: input.stdio_config.args } } : {}),
    auth_type: input.auth_type as UpstreamSettings['auth_type'],
    tools_to_execute: input.tools_to_execute,
    tools_to_skip: input.tools_to_skip,
    tool_name_prefix: input.tool_name_prefix,
    ...(input.allowed_users !== undefined ? { allowed_users: input.allowed_users } : {}),
    ...(input.allowed_groups !== undefined ? { allowed_groups: input.allowed_groups } : {}),
    timeout_ms: input.timeout_ms,
    ...(input.oauth_config ? { oauth_config: withoutSecret(input.oauth_config) } : {}),
    ...(input.token_exchange ? { token_exchange: input.token_exchange } : {}),
    tool_pinning: input.tool_pinning,
    new_tools: input.new_tools,
    ...(input.rate_limit ? { rate_limit: input.rate_limit } : {}),
    ...(input.tool_rate_limits ? { tool_rate_limits: input.tool_rate_limits } : {}),
    require_approval: input.require_approval,
    ...(input.tool_require_approval ? { tool_require_approval: input.tool_require_approval } : {}),
  };
  const secrets: UpstreamSecrets = {};
  if (settings.auth_type === 'headers') secrets.headers = input.headers ?? kept.headers ?? {};
  if (settings.connection_type === 'stdio') secrets.envs = input.stdio_config?.envs ?? kept.envs ?? {};
  if (input.oauth_config?.client_id !== undefined) {
    const secret = input.oauth_config.client_secret ?? kept.oauth_client_secret;
    if (secret !== undefined) secrets.oauth_client_secret = secret;
  }
  if (settings.auth_type === 'headers' && Object.keys(secrets.headers ?? {}).length === 0) {
    throw new z.ZodError([
      { code: 'custom', path: ['headers'], message: 'must name at least one header when auth_type is "headers"', input: input.headers },
    ]);
  }
  return { settings, secrets };
}

function withoutSecret({ client_secret: _secret, ...rest }: z.infer<typeof oauthConfig>): UpstreamOAuthSettings {
  return rest;
}

/** The settings of a stored upstream (its `config` column). */
export function settingsOf(record: Pick<UpstreamRecord, 'config'>): UpstreamSettings {
  return JSON.parse(record.config) as UpstreamSettings;
}

const secretsContext = (id: string) => `upstream-secrets:${id}`;

/** Sealed JSON of the secrets, bound to the upstream's id; null when there are none. */
export function sealSecrets(key: Buffer, id: string, secrets: UpstreamSecrets): string | null {
  const present = Object.values(secrets).some((group) => (typeof group === 'string' ? group.length > 0 : group && Object.keys(group).length > 0));
  return present ? seal(key, JSON.stringify(secrets), secretsContext(id)) : null;
}

export function openSecrets(key: Buffer, id: string, sealed: string | null): UpstreamSecrets {
  return sealed === null ? {} : (JSON.parse(open(key, sealed, secretsContext(id))) as UpstreamSecrets);
}
