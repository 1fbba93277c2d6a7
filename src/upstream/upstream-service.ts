import { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../config.js';
import { newId } from '../crypto/random.js';
import type { AuditLog } from '../audit/audit-log.js';
import { isUniqueViolation, type UpstreamRecord, type UpstreamStore } from '../store/index.js';
import type { OutboundOAuth, StartedFlow } from './oauth/outbound-oauth.js';
import { openSecrets, sealSecrets, settingsFromInput, settingsOf, upstreamInput, type UpstreamSecrets } from './settings.js';
import type { NegotiatedProtocol, ProtocolEra } from './streamable-http/protocol-eras.js';
import type { UpstreamSettings, UpstreamStatus } from './types.js';

/** What the management API needs of the registry: apply a stored change, force a reconnect, read a status. */
export interface RegistryControl {
  refresh(id: string): Promise<void>;
  reconnect(id: string): Promise<UpstreamStatus | undefined>;
  statusOf(id: string): UpstreamStatus | undefined;
}

/** An upstream as the API shows it: settings, header and environment NAMES (never values), source and status. */
export interface UpstreamView extends Omit<UpstreamSettings, 'stdio_config' | 'oauth_config'> {
  id: string;
  source: UpstreamRecord['source'];
  stdio_config?: { command: string; args: string[]; env_names: string[] };
  header_names?: string[];
  oauth_config?: NonNullable<UpstreamSettings['oauth_config']> & { has_client_secret: boolean };
  /** `protocol_era` and `protocol_version` while connected: what the upstream was found to speak (`protocol_version` where known). */
  status: { state: UpstreamStatus['state']; reason?: string; since?: string; retry_at?: string; protocol_era?: ProtocolEra; protocol_version?: string };
  created_at: string;
  updated_at: string;
}

export class UpstreamConflict extends Error {
  constructor(
    readonly code: 'name_taken' | 'managed_by_config' | 'not_oauth',
    message: string,
  ) {
    super(message);
  }
}

const iso = (at: number) => new Date(at).toISOString();

function protocolView(protocol: NegotiatedProtocol | undefined): Pick<UpstreamView['status'], 'protocol_era' | 'protocol_version'> {
  if (!protocol) return {};
  return protocol.version === undefined ? { protocol_era: protocol.era } : { protocol_era: protocol.era, protocol_version: protocol.version };
}

export function statusView(status: UpstreamStatus | undefined): UpstreamView['status'] {
  if (!status) return { state: 'connecting' };
  switch (status.state) {
    case 'connecting':
      return { state: 'connecting' };
    case 'connected':
      return { state: 'connected', since: iso(status.since), ...protocolView(status.protocol) };
    case 'error':
      return { state: 'error', reason: status.reason, ...(status.retryAt !== null ? { retry_at: iso(status.retryAt) } : {}) };
    case 'needs_auth':
      return { state: 'needs_auth', reason: status.reason };
  }
}

export interface UpstreamServiceOptions {
  store: UpstreamStore;
  encryptionKey: Buffer;
  registry: RegistryControl;
  /** Outbound OAuth, for `oauth` and `per_user_oauth` upstreams. */
  outbound?: OutboundOAuth;
  /** Where changes made through the API are recorded (`upstream.created`, `.updated`, `.deleted`). */
  audit?: AuditLog;
  now?: () => number;
}

/** Who changes an upstream through the API, for the audit. */
export interface UpstreamCaller {
  userId: string | null;
}

/** The answer to adding (or re-authorizing) an OAuth upstream: where the admin authorizes it (Bifrost's shape). */
export interface PendingOAuth {
  status: 'pending_oauth';
  id: string;
  oauth_config_id: string;
  authorize_url: string;
  complete_url: string;
  status_url: string;
  expires_at: string;
  client: UpstreamView;
}

const isOAuth = (settings: Pick<UpstreamSettings, 'auth_type'>) => settings.auth_type === 'oauth' || settings.auth_type === 'per_user_oauth';

/** What an OAuth authorization depends on: when any of it changes, the tokens obtained for the old one are dropped. */
const oauthIdentity = (settings: UpstreamSettings) => JSON.stringify([settings.connection_string, settings.auth_type, settings.oauth_config ?? null]);

/** Create, read, update and delete upstreams in the store, secrets sealed, each change applied to the registry at once. */
export function upstreamService({ store, encryptionKey, registry, outbound, audit, now = Date.now }: UpstreamServiceOptions) {
  const view = (record: UpstreamRecord): UpstreamView => {
    const { stdio_config, oauth_config, ...settings } = settingsOf(record);
    const secrets = openSecrets(encryptionKey, record.id, record.sealedSecrets);
    return {
      id: record.id,
      ...settings,
      ...(stdio_config ? { stdio_config: { ...stdio_config, env_names: Object.keys(secrets.envs ?? {}) } } : {}),
      ...(settings.auth_type === 'headers' ? { header_names: Object.keys(secrets.headers ?? {}) } : {}),
      ...(oauth_config ? { oauth_config: { ...oauth_config, has_client_secret: secrets.oauth_client_secret !== undefined } } : {}),
      source: record.source,
      status: statusView(registry.statusOf(record.id)),
      created_at: iso(record.createdAt),
      updated_at: iso(record.updatedAt),
    };
  };

  const nameTaken = (name: string) => new UpstreamConflict('name_taken', `an upstream named "${name}" exists already`);
  const ensureNameFree = async (name: string, exceptId?: string) => {
    const holder = await store.findByName(name);
    if (holder && holder.id !== exceptId) throw nameTaken(name);
  };
  /** The check above cannot exclude two writes of one name at the same instant: the unique index decides those. */
  const write = async (name: string, action: () => Promise<unknown>) => {
    try {
      await action();
    } catch (error) {
      throw isUniqueViolation(error) ? nameTaken(name) : error;
    }
  };
  const recordChange = (kind: 'upstream.created' | 'upstream.updated' | 'upstream.deleted', caller: UpstreamCaller, upstream: { id: string; name: string }) =>
    audit?.record(kind, { userId: caller.userId, detail: { upstream_id: upstream.id, name: upstream.name } });

  /**
   * Starts an authorization of an OAuth upstream: of its shared connection (`oauth`), or of the caller's own
   * connection (`per_user_oauth`, where the link is bound to the caller).
   */
  const authorize = async (id: string, caller: { userId: string | null }): Promise<PendingOAuth> => {
    const record = await store.find(id);
    if (!record || !outbound) throw new UpstreamConflict('not_oauth', 'this upstream does not use OAuth');
    const settings = settingsOf(record);
    if (!isOAuth(settings)) throw new UpstreamConflict('not_oauth', `upstream "${settings.name}" uses auth_type "${settings.auth_type}", not OAuth`);
    const perUser = settings.auth_type === 'per_user_oauth';
    if (perUser && caller.userId === null) throw new UpstreamConflict('not_oauth', 'a per-user upstream is authorized by a signed-in user; call the API as a user');
    const flow: StartedFlow & { configId: string } = await outbound.startFlow(id, perUser ? 'per_user' : 'shared', caller.userId);
    const base = outbound.publicUrl;
    return {
      status: 'pending_oauth',
      id,
      oauth_config_id: flow.configId,
      // A per-user authorization starts at Gatehouse's link, which only the caller's signed-in browser may follow.
      authorize_url: perUser ? outbound.connectLink(flow.flowId) : flow.authorizeUrl,
      complete_url: `${base}/api/mcp/client/${id}/complete-oauth`,
      status_url: `${base}/api/oauth/config/${flow.configId}/status`,
      expires_at: iso(flow.expiresAt),
      client: view(record),
    };
  };

  return {
    async list(): Promise<UpstreamView[]> {
      return (await store.list()).map(view);
    },

    async get(id: string): Promise<UpstreamView | undefined> {
      const record = await store.find(id);
      return record && view(record);
    },

    /**
     * Adds an upstream. An OAuth one is set up at once (discovery, registration) and answered `pending_oauth`
     * with the URL where `caller` authorizes it; when setting it up fails, nothing is kept.
     */
    async create(body: unknown, caller: UpstreamCaller = { userId: null }): Promise<UpstreamView | PendingOAuth> {
      const { settings, secrets } = settingsFromInput(upstreamInput.parse(body));
      await ensureNameFree(settings.name);
      const id = newId('ups');
      const at = now();
      await write(settings.name, () =>
        store.create({ id, name: settings.name, source: 'api', config: JSON.stringify(settings), sealedSecrets: sealSecrets(encryptionKey, id, secrets), createdAt: at, updatedAt: at }),
      );
      await recordChange('upstream.created', caller, { id, name: settings.name });
      if (isOAuth(settings)) {
        try {
          const pending = await authorize(id, caller);
          await registry.refresh(id);
          return pending;
        } catch (error) {
          await store.delete(id);
          await outbound?.forgetUpstream(id);
          throw error;
        }
      }
      await registry.refresh(id);
      return view((await store.find(id))!);
    },

    authorize,

    /** Replaces the settings; headers and stdio envs that the body leaves out are kept. Undefined: no such upstream. */
    async update(id: string, body: unknown, caller: UpstreamCaller = { userId: null }): Promise<UpstreamView | undefined> {
      const record = await store.find(id);
      if (!record) return undefined;
      if (record.source === 'config') throw managedByConfig(record.name);
      const input = upstreamInput.parse(body);
      const { settings, secrets } = settingsFromInput(input, openSecrets(encryptionKey, id, record.sealedSecrets));
      await ensureNameFree(settings.name, id);
      const before = settingsOf(record);
      await write(settings.name, () =>
        store.update(id, { name: settings.name, config: JSON.stringify(settings), sealedSecrets: sealSecrets(encryptionKey, id, secrets), updatedAt: now() }),
      );
      await recordChange('upstream.updated', caller, { id, name: settings.name });
      // Tokens belong to the server and client they were issued for: a new URL or auth setup needs a new authorization.
      if (isOAuth(before) && oauthIdentity(before) !== oauthIdentity(settings)) await outbound?.forgetUpstream(id);
      await registry.refresh(id);
      return view((await store.find(id))!);
    },

    /** False when there was no such upstream. */
    async remove(id: string, caller: UpstreamCaller = { userId: null }): Promise<boolean> {
      const record = await store.find(id);
      if (!record) return false;
      if (record.source === 'config') throw managedByConfig(record.name);
      await store.delete(id);
      await recordChange('upstream.deleted', caller, record);
      await registry.refresh(id);
      if (isOAuth(settingsOf(record))) await outbound?.forgetUpstream(id);
      return true;
    },

    async reconnect(id: string): Promise<UpstreamView['status'] | undefined> {
      if (!(await store.find(id))) return undefined;
      return statusView(await registry.reconnect(id));
    },
  };
}

export type UpstreamService = ReturnType<typeof upstreamService>;

const managedByConfig = (name: string) =>
  new UpstreamConflict('managed_by_config', `upstream "${name}" is declared in the config file; change or remove it there and restart`);

type ParsedUpstream = { settings: UpstreamSettings; secrets: UpstreamSecrets };

function upstreamIssueProblems(index: number, error: z.ZodError): ConfigProblem[] {
  return error.issues.flatMap((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    return keys.map((key) => {
      const path = key === undefined ? issue.path : [...issue.path, key];
      const field = path.length > 0 ? `.${path.map(String).join('.')}` : '';
      const problem = key === undefined ? issue.message : 'is not a known upstream setting';
      return { setting: `upstreams[${index}]${field}`, problem, fix: 'Fix this upstream in the config file (see docs/configuration.md)' };
    });
  });
}

/** Every mistake in the config file's upstreams (each named `upstreams[i].field`), with the entries that are valid. */
function checkConfigUpstreams(raw: readonly Record<string, unknown>[]): { parsed: ParsedUpstream[]; problems: ConfigProblem[] } {
  const seen = new Set<string>();
  const parsed: ParsedUpstream[] = [];
  const problems: ConfigProblem[] = [];
  raw.forEach((entry, index) => {
    try {
      const upstream = settingsFromInput(upstreamInput.parse(entry));
      if (seen.has(upstream.settings.name)) {
        problems.push({ setting: `upstreams[${index}].name`, problem: `"${upstream.settings.name}" is used twice`, fix: 'Give each upstream its own name' });
      }
      seen.add(upstream.settings.name);
      parsed.push(upstream);
    } catch (error) {
      if (!(error instanceof z.ZodError)) throw error;
      problems.push(...upstreamIssueProblems(index, error));
    }
  });
  return { parsed, problems };
}

/** For `loadConfig`'s checks: the config file's upstream mistakes, all of them. */
export const configUpstreamProblems = (raw: readonly Record<string, unknown>[]): ConfigProblem[] => checkConfigUpstreams(raw).problems;

/** Validates the config file's upstreams; any mistake stops the start, every one named `upstreams[i].field`. */
export function parseConfigUpstreams(raw: readonly Record<string, unknown>[]): ParsedUpstream[] {
  const { parsed, problems } = checkConfigUpstreams(raw);
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed;
}

/**
 * Makes the store's `config` upstreams match the config file: new ones created, existing ones (by name) updated
 * with their id kept, ones no longer declared deleted. An API-made upstream of the same name stops the start.
 */
export async function syncConfigUpstreams(store: UpstreamStore, encryptionKey: Buffer, raw: readonly Record<string, unknown>[], now = Date.now()): Promise<void> {
  const declared = parseConfigUpstreams(raw);
  const existing = await store.list();
  for (const [index, { settings, secrets }] of declared.entries()) {
    const record = existing.find((r) => r.name === settings.name);
    if (record && record.source !== 'config') {
      throw new ConfigError(`upstreams[${index}].name`, `"${settings.name}" is taken by an upstream created through the API`, 'Rename one of them, or delete the API one');
    }
    const config = JSON.stringify(settings);
    if (!record) {
      const id = newId('ups');
      await store.create({ id, name: settings.name, source: 'config', config, sealedSecrets: sealSecrets(encryptionKey, id, secrets), createdAt: now, updatedAt: now });
      continue;
    }
    const same = record.config === config && JSON.stringify(openSecrets(encryptionKey, record.id, record.sealedSecrets)) === JSON.stringify(secrets);
    if (!same) await store.update(record.id, { name: settings.name, config, sealedSecrets: sealSecrets(encryptionKey, record.id, secrets), updatedAt: now });
  }
  const names = new Set(declared.map((d) => d.settings.name));
  for (const record of existing) if (record.source === 'config' && !names.has(record.name)) await store.delete(record.id);
}
