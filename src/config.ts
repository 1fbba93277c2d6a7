import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** A setting that is wrong, with the fix to offer; the CLI prints it on one line and exits 2. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${setting}: ${problem}. ${fix}`);
    this.name = 'ConfigError';
  }
}

const durationSeconds = z.coerce.number().int().positive();

const databaseUrl = z
  .string()
  .trim()
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
      } catch {
        return false;
      }
    },
    { message: 'must be a postgres:// or postgresql:// URL with a host, e.g. postgres://user@127.0.0.1:5432/gatehouse' },
  );

const publicUrl = z
  .string()
  .trim()
  .transform((value) => value.replace(/\/+$/, ''))
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash && !url.username;
      } catch {
        return false;
      }
    },
    { message: 'must be an absolute http(s) URL without query, fragment or credentials, e.g. https://gatehouse.example.com' },
  );

const booleanish = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes'),
]);

/** Everything a setting may be, before defaults that depend on other settings are filled in. */
const settingsSchema = z
  .object({
    host: z.string().trim().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    publicUrl: publicUrl.optional(),
    dataDir: z.string().trim().min(1).default('./data'),
    databaseUrl: databaseUrl.optional(),
    demo: booleanish.default(true),
    allowPrivateNetworks: booleanish.default(false),
    trustProxy: booleanish.default(false),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    bodyLimitBytes: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    /** SQLite durability: `normal` survives a crash of the process, `full` also a power cut (one fsync per write). */
    sqliteSync: z.enum(['normal', 'full']).default('normal'),
    /** SIGTERM/SIGINT: how long a graceful stop may take before what is pending is abandoned (below an orchestrator's usual 30 s). */
    shutdownTimeoutSeconds: durationSeconds.max(3600).default(25),
    sessions: z
      .object({
        idleTimeoutSeconds: durationSeconds.default(12 * 3600),
        absoluteTimeoutSeconds: durationSeconds.default(7 * 24 * 3600),
      })
      .strict()
      .default({ idleTimeoutSeconds: 12 * 3600, absoluteTimeoutSeconds: 7 * 24 * 3600 }),
    loginThrottle: z
      .object({
        accountFreeFailures: z.coerce.number().int().min(1).default(5),
        ipFreeFailures: z.coerce.number().int().min(1).default(20),
        maxDelaySeconds: durationSeconds.default(900),
      })
      .strict()
      .default({ accountFreeFailures: 5, ipFreeFailures: 20, maxDelaySeconds: 900 }),
    oauth: z
      .object({
        /** open: anyone may register; strict: https or http://127.0.0.1 redirects, public clients, default scope; closed: initial access token needed. */
        registrationPolicy: z.enum(['open', 'strict', 'closed']).default('open'),
        registrationsPerIpPerDay: z.coerce.number().int().min(1).default(50),
        registrationsPerDay: z.coerce.number().int().min(1).default(5000),
        /** Custom URI schemes accepted as redirect URIs (native apps such as Cursor). */
        allowedRedirectSchemes: z.array(z.string().regex(/^[a-z][a-z0-9+.-]*$/)).default(['cursor', 'vscode']),
        accessTokenTtlSeconds: durationSeconds.max(24 * 3600).default(600),
        authorizationCodeTtlSeconds: durationSeconds.max(600).default(60),
        flowTtlSeconds: durationSeconds.max(24 * 3600).default(900),
        refreshTokenIdleSeconds: durationSeconds.default(30 * 24 * 3600),
        refreshTokenAbsoluteSeconds: durationSeconds.default(90 * 24 * 3600),
        refreshGraceSeconds: z.coerce.number().int().min(0).max(300).default(10),
      })
      .strict()
      .prefault({}),
    /** Gatehouse as the OAuth client of upstreams (auth_type oauth and per_user_oauth). */
    outboundOAuth: z
      .object({
        /** Upstream access tokens are refreshed this long before they expire. */
        refreshMarginSeconds: durationSeconds.max(3600).default(60),
        /** How long an upstream authorization (and a per-user connect link) stays usable. */
        flowTtlSeconds: durationSeconds.max(24 * 3600).default(900),
        /** Per-user upstream connections kept open for reuse, at most, across all upstreams. */
        perUserPoolSize: z.coerce.number().int().min(1).max(100_000).default(1000),
        /** A per-user upstream connection unused this long is closed. */
        perUserIdleSeconds: durationSeconds.max(24 * 3600).default(300),
      })
      .strict()
      .prefault({}),
    /** Upstream MCP servers declared in the config file; each entry is validated by upstream/settings.ts at start. */
    upstreams: z.array(z.record(z.string(), z.unknown())).default([]),
    audit: z
      .object({
        /** Tool-call arguments are left out of the audit unless this is on. */
        recordArguments: booleanish.default(false),
        /** Argument keys (any depth, case-insensitive) whose values are replaced before recording. */
        redactKeys: z.array(z.string().min(1)).default(['password', 'secret', 'token', 'api_key', 'apikey', 'authorization', 'cookie']),
      })
      .strict()
      .prefault({}),
  })
  .strict();

type Settings = z.infer<typeof settingsSchema>;

export type Config = Omit<Settings, 'publicUrl'> & {
  publicUrl: string;
  /** True when the issuer is https: cookies become `__Host-` and Secure. */
  secureCookies: boolean;
  configFile?: string;
  /** Secrets come from the environment only, never from argv or the config file. */
  secretKey?: string;
  adminPassword?: string;
};

/** Flag names as commander hands them over (camelCase), all optional. */
export type ConfigFlags = Partial<Record<keyof Settings | 'config' | 'noDemo', unknown>>;

/** Each setting's environment twin; the flag is the kebab-case of the key. */
const environmentNames: Record<string, keyof Settings> = {
  GATEHOUSE_HOST: 'host',
  GATEHOUSE_PORT: 'port',
  GATEHOUSE_PUBLIC_URL: 'publicUrl',
  GATEHOUSE_DATA_DIR: 'dataDir',
  GATEHOUSE_DATABASE_URL: 'databaseUrl',
  GATEHOUSE_ALLOW_PRIVATE_NETWORKS: 'allowPrivateNetworks',
  GATEHOUSE_TRUST_PROXY: 'trustProxy',
  GATEHOUSE_LOG_LEVEL: 'logLevel',
  GATEHOUSE_BODY_LIMIT_BYTES: 'bodyLimitBytes',
  GATEHOUSE_SQLITE_SYNC: 'sqliteSync',
  GATEHOUSE_SHUTDOWN_TIMEOUT_SECONDS: 'shutdownTimeoutSeconds',
};

export const environmentSettings = Object.freeze({ ...environmentNames });

function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(environmentNames)) {
    const value = env[name];
    if (value !== undefined && value !== '') values[key] = value;
  }
  const noDemo = env.GATEHOUSE_NO_DEMO;
  if (noDemo !== undefined && noDemo !== '') {
    const parsed = booleanish.safeParse(noDemo);
    if (!parsed.success) throw new ConfigError('--no-demo (GATEHOUSE_NO_DEMO)', `${JSON.stringify(noDemo)} is not a yes/no value`, 'Set it to true or false');
    values.demo = !parsed.data;
  }
  return values;
}

function fromFlags(flags: ConfigFlags): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined || key === 'config' || key === 'noDemo') continue;
    values[key] = value;
  }
  // commander turns `--no-demo` into demo=false, but only when the flag was given.
  if (flags.noDemo === true) values.demo = false;
  return values;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError('--config', `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'Give the path of a readable JSON or YAML file');
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError('--config', `${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'} (${(error as Error).message.split('\n')[0]})`, 'Fix the syntax of the file');
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('--config', `${file} must hold an object of settings`, 'See docs/configuration.md for the keys');
  }
  return parsed as Record<string, unknown>;
}

/** Settings that also have a command-line flag; the others come from the environment or the config file. */
const settingsWithFlags = new Set<string>(['host', 'port', 'publicUrl', 'dataDir', 'databaseUrl', 'demo', 'allowPrivateNetworks', 'logLevel', 'shutdownTimeoutSeconds']);

function settingLabel(key: string): string {
  const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const env = Object.entries(environmentNames).find(([, k]) => k === key)?.[0];
  if (env && settingsWithFlags.has(key)) return `${flag} (${env})`;
  return env ? `${env} (config key ${key})` : key;
}

/** Deep-merges plain objects so a config file may set one nested value and keep the others' defaults. */
function merge(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      const previous = result[key];
      result[key] =
        isPlainObject(previous) && isPlainObject(value) ? merge(previous, value) : value;
    }
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Flags > GATEHOUSE_* environment > config file > defaults, validated into one Config. */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const configFile = (flags.config as string | undefined) ?? (env.GATEHOUSE_CONFIG || undefined);
  const fileValues = configFile ? readConfigFile(configFile) : {};
  const merged = merge(fileValues, fromEnvironment(env), fromFlags(flags));
  const result = settingsSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const where = key ? `${key}.` : '';
      throw new ConfigError(
        `${where}${issue.keys.join(', ')}`,
        'is not a known setting',
        'Remove it or check its spelling against docs/configuration.md',
      );
    }
    throw new ConfigError(settingLabel(key || 'config'), issue.message, 'Fix the value or leave it unset for the default');
  }
  const settings = result.data;
  const publicUrl = settings.publicUrl ?? defaultPublicUrl(settings.host, settings.port);
  if (settings.oauth.refreshTokenIdleSeconds > settings.oauth.refreshTokenAbsoluteSeconds) {
    throw new ConfigError('oauth.refreshTokenIdleSeconds', 'is longer than oauth.refreshTokenAbsoluteSeconds', 'Make the idle lifetime the shorter of the two');
  }
  if (settings.sessions.idleTimeoutSeconds > settings.sessions.absoluteTimeoutSeconds) {
    throw new ConfigError('sessions.idleTimeoutSeconds', 'is longer than sessions.absoluteTimeoutSeconds', 'Make the idle timeout the shorter of the two');
  }
  return {
    ...settings,
    dataDir: path.resolve(settings.dataDir),
    publicUrl,
    secureCookies: publicUrl.startsWith('https:'),
    configFile,
    secretKey: env.GATEHOUSE_SECRET_KEY || undefined,
    adminPassword: env.GATEHOUSE_ADMIN_PASSWORD || undefined,
  };
}

function defaultPublicUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const hostPart = reachable.includes(':') ? `[${reachable}]` : reachable;
  return `http://${hostPart}:${port}`;
}
