import { z } from 'zod';
import { ConfigError } from '../config.js';
import { newId } from '../crypto/random.js';
import type { UpstreamRecord, UpstreamStore } from '../store/index.js';
import { openSecrets, sealSecrets, settingsFromInput, upstreamInput, type UpstreamSecrets } from './settings.js';
import type { UpstreamSettings, UpstreamStatus } from './types.js';

/** What the management API needs of the registry: apply a stored change, force a reconnect, read a status. */
export interface RegistryControl {
  refresh(id: string): Promise<void>;
  reconnect(id: string): Promise<UpstreamStatus | undefined>;
  statusOf(id: string): UpstreamStatus | undefined;
}

/** An upstream as the API shows it: settings, header and environment NAMES (never values), source and status. */
export interface UpstreamView extends Omit<UpstreamSettings, 'stdio_config'> {
  id: string;
  source: UpstreamRecord['source'];
  stdio_config?: { command: string; args: string[]; env_names: string[] };
  header_names?: string[];
  status: { state: UpstreamStatus['state']; reason?: string; since?: string; retry_at?: string };
  created_at: string;
  updated_at: string;
}

export class UpstreamConflict extends Error {
  constructor(
    readonly code: 'name_taken' | 'managed_by_config',
    message: string,
  ) {
    super(message);
  }
}

const iso = (at: number) => new Date(at).toISOString();

export function statusView(status: UpstreamStatus | undefined): UpstreamView['status'] {
  if (!status) return { state: 'connecting' };
  switch (status.state) {
    case 'connecting':
      return { state: 'connecting' };
    case 'connected':
      return { state: 'connected', since: iso(status.since) };
    case 'error':
      return { state: 'error', reason: status.reason, ...(status.retryAt !== null ? { retry_at: iso(status.retryAt) } : {}) };
    case 'needs_auth':
      return { state: 'needs_auth', reason: status.reason };
  }
}

export function settingsOf(record: UpstreamRecord): UpstreamSettings {
  return JSON.parse(record.config) as UpstreamSettings;
}

export interface UpstreamServiceOptions {
  store: UpstreamStore;
  encryptionKey: Buffer;
  registry: RegistryControl;
  now?: () => number;
}

/** Create, read, update and delete upstreams in the store, secrets sealed, each change applied to the registry at once. */
export function upstreamService({ store, encryptionKey, registry, now = Date.now }: UpstreamServiceOptions) {
  const view = (record: UpstreamRecord): UpstreamView => {
    const { stdio_config, ...settings } = settingsOf(record);
    const secrets = openSecrets(encryptionKey, record.id, record.sealedSecrets);
    return {
      id: record.id,
      ...settings,
      ...(stdio_config ? { stdio_config: { ...stdio_config, env_names: Object.keys(secrets.envs ?? {}) } } : {}),
      ...(settings.auth_type === 'headers' ? { header_names: Object.keys(secrets.headers ?? {}) } : {}),
      source: record.source,
      status: statusView(registry.statusOf(record.id)),
      created_at: iso(record.createdAt),
      updated_at: iso(record.updatedAt),
    };
  };

  const ensureNameFree = async (name: string, exceptId?: string) => {
    const holder = await store.findByName(name);
    if (holder && holder.id !== exceptId) throw new UpstreamConflict('name_taken', `an upstream named "${name}" exists already`);
  };

  return {
    async list(): Promise<UpstreamView[]> {
      return (await store.list()).map(view);
    },

    async get(id: string): Promise<UpstreamView | undefined> {
      const record = await store.find(id);
      return record && view(record);
    },

    async create(body: unknown): Promise<UpstreamView> {
      const { settings, secrets } = settingsFromInput(upstreamInput.parse(body));
      await ensureNameFree(settings.name);
      const id = newId('ups');
      const at = now();
      await store.create({
        id, name: settings.name, source: 'api', config: JSON.stringify(settings),
        sealedSecrets: sealSecrets(encryptionKey, id, secrets), createdAt: at, updatedAt: at,
      });
      await registry.refresh(id);
      return view((await store.find(id))!);
    },

    /** Replaces the settings; headers and stdio envs that the body leaves out are kept. Undefined: no such upstream. */
    async update(id: string, body: unknown): Promise<UpstreamView | undefined> {
      const record = await store.find(id);
      if (!record) return undefined;
      if (record.source === 'config') throw managedByConfig(record.name);
      const input = upstreamInput.parse(body);
      const { settings, secrets } = settingsFromInput(input, openSecrets(encryptionKey, id, record.sealedSecrets));
      await ensureNameFree(settings.name, id);
      await store.update(id, { name: settings.name, config: JSON.stringify(settings), sealedSecrets: sealSecrets(encryptionKey, id, secrets), updatedAt: now() });
      await registry.refresh(id);
      return view((await store.find(id))!);
    },

    /** False when there was no such upstream. */
    async remove(id: string): Promise<boolean> {
      const record = await store.find(id);
      if (!record) return false;
      if (record.source === 'config') throw managedByConfig(record.name);
      await store.delete(id);
      await registry.refresh(id);
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

/** Validates the config file's upstreams; the first mistake stops the start, naming `upstreams[i].field`. */
export function parseConfigUpstreams(raw: readonly Record<string, unknown>[]): { settings: UpstreamSettings; secrets: UpstreamSecrets }[] {
  const seen = new Set<string>();
  return raw.map((entry, index) => {
    try {
      const parsed = settingsFromInput(upstreamInput.parse(entry));
      if (seen.has(parsed.settings.name)) throw new ConfigError(`upstreams[${index}].name`, `"${parsed.settings.name}" is used twice`, 'Give each upstream its own name');
      seen.add(parsed.settings.name);
      return parsed;
    } catch (error) {
      if (!(error instanceof z.ZodError)) throw error;
      const issue = error.issues[0]!;
      const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
      const field = path.length > 0 ? `.${path.map(String).join('.')}` : '';
      const problem = issue.code === 'unrecognized_keys' ? 'is not a known upstream setting' : issue.message;
      throw new ConfigError(`upstreams[${index}]${field}`, problem, 'Fix this upstream in the config file (see docs/configuration.md)');
    }
  });
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
