import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isJsonObject } from './json-object.js';
import { DEFAULT_SCOPES, formatScope, KNOWN_SCOPES, parseScope } from './oauth/scopes.js';
import { booleanish, ssoFromEnvironment, ssoSettings, type SsoSettings } from './config-sso.js';

/** One wrong setting: where it came from, what is wrong, and the fix to offer. */
export interface ConfigProblem {
  setting: string;
  problem: string;
  fix: string;
}

const describeProblem = (p: ConfigProblem) => `${p.setting}: ${p.problem}. ${p.fix}`;

/**
 * The configuration is wrong; every problem found is listed, so one run shows them all. The CLI prints them
 * (one line each) and exits 2. `setting`, `problem` and `fix` are the first problem's.
 */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(setting: string, problem: string, fix: string);
  constructor(problems: readonly ConfigProblem[]);
  constructor(...args: [string, string, string] | [readonly ConfigProblem[]]) {
    const problems = args.length === 1 ? args[0] : [{ setting: args[0], problem: args[1], fix: args[2] }];
    super(
      problems.length === 1
        ? describeProblem(problems[0]!)
        : `${problems.length} problems in the configuration:\n${problems.map((p) => `  ${describeProblem(p)}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }

  get setting(): string {
    return this.problems[0]!.setting;
  }
  get problem(): string {
    return this.problems[0]!.problem;
  }
  get fix(): string {
    return this.problems[0]!.fix;
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
  )
  // The issuer and the resource (`<public URL>/mcp`) are compared byte for byte by clients, which derive them
  // with a URL parser: so the configured URL is kept in that normal form (lower-case host, no default port).
  .transform((value) => {
    const url = new URL(value);
    return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  });

/** Everything a setting may be, before defaults that depend on other settings are filled in. */
export const settingsSchema = z
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
    /** PostgreSQL: connections per process; replicas × this must stay under the server's max_connections (docs/deployment.md). */
    databasePoolSize: z.coerce.number().int().min(1).max(500).default(20),
    /** Verified API keys and grants reused for a short while; every replica empties its cache when one is revoked (LISTEN/NOTIFY). */
    credentialCache: z
      .object({
        /** An entry's lifetime while revocations are heard; 0 turns the cache off (a database read per request). */
        ttlSeconds: z.coerce.number().min(0).max(300).default(10),
        /** Its lifetime while they are not (PostgreSQL's listening connection is down; SQLite): the longest a revocation can go unseen then. */
        unheardTtlSeconds: z.coerce.number().min(0).max(60).default(1),
      })
      .strict()
      .prefault({}),
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
        /** open: anyone may register; strict: 1 to 5 https or http://127.0.0.1 redirects, public clients, strictScope; closed: initial access token needed. */
        registrationPolicy: z.enum(['open', 'strict', 'closed']).default('open'),
        /** The scope the strict policy grants every client (`mcp` answers as Bifrost-shaped deployments do). */
        strictScope: z
          .string()
          .transform((value) => formatScope(parseScope(value)))
          .refine((value) => value !== '' && parseScope(value).every((scope) => KNOWN_SCOPES.includes(scope)), {
            message: `must be one or more of ${KNOWN_SCOPES.join(', ')}, separated by spaces`,
          })
          .default(formatScope(DEFAULT_SCOPES)),
        registrationsPerIpPerDay: z.coerce.number().int().min(1).default(50),
        registrationsPerDay: z.coerce.number().int().min(1).default(5000),
        /** Client ID Metadata Documents fetched on behalf of one client IP per hour (first-time ones also count as registrations). */
        metadataDocumentFetchesPerIpPerHour: z.coerce.number().int().min(1).default(60),
        /** A metadata-document client not fetched for this long and holding no live grant is forgotten. */
        metadataDocumentClientRetentionSeconds: durationSeconds.min(24 * 3600).default(30 * 24 * 3600),
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
    /** How long rows that only grow are kept; the sweep runs in the server and in `gatehouse maintenance`. */
    retention: z
      .object({
        sweepIntervalSeconds: durationSeconds.max(24 * 3600).default(300),
        /** Rows per DELETE: small enough that no batch holds SQLite's write lock or one PostgreSQL transaction long. */
        batchSize: z.coerce.number().int().min(1).max(100_000).default(500),
        /** A rotated refresh token is kept this long for reuse detection (a replay revokes its grant), then deleted. */
        rotatedRefreshTokenSeconds: durationSeconds.default(7 * 24 * 3600),
        /** An authorization code is kept this long past its expiry (a reuse revokes its grant), then deleted. */
        authorizationCodeSeconds: durationSeconds.default(3600),
        /** A revoked or expired grant is kept this long (for the connected-apps and admin views), then deleted with its tokens. */
        endedGrantSeconds: durationSeconds.default(7 * 24 * 3600),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        /** Tool-call arguments are left out of the audit unless this is on. */
        recordArguments: booleanish.default(false),
        /** Each tool call also as a log line (upstream, tool, outcome, who, duration; never its arguments). */
        logToolCalls: booleanish.default(false),
        /** Argument keys (any depth, case-insensitive) whose values are replaced before recording. */
        redactKeys: z.array(z.string().min(1)).default(['password', 'secret', 'token', 'api_key', 'apikey', 'authorization', 'cookie']),
        /** Tool calls and security events older than this are deleted by the retention sweep; 0 keeps them forever. */
        retentionDays: z.coerce.number().int().min(0).default(90),
        /** When set, rows are appended to JSON Lines files here before the sweep deletes them. */
        exportDir: z.string().trim().min(1).optional(),
        /** Audit rows are written in batches, each written at most this long after the first is queued (a crash loses at most this window). */
        batchWindowMs: z.coerce.number().int().min(0).max(60_000).default(100),
        /** Rows per INSERT at most. */
        batchSize: z.coerce.number().int().min(1).max(1000).default(200),
        /** Rows waiting at most; beyond it a new record waits for the write under way (backpressure, never a silent drop). */
        queueLimit: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
      })
      .strict()
      .prefault({}),
    /** Human approval of risky tool calls (upstream `require_approval`). */
    approvals: z
      .object({
        /** How long a person has to approve a held call, and how long the approval then waits for the call's retry. */
        ttlSeconds: durationSeconds.max(24 * 3600).default(600),
      })
      .strict()
      .prefault({}),
    /** Company sign-in (OpenID Connect providers): config-sso.ts. */
    sso: ssoSettings,
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
  /** When set, `GET /metrics` needs `Authorization: Bearer <this>`. */
  metricsToken?: string;
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
  GATEHOUSE_DATABASE_POOL_SIZE: 'databasePoolSize',
  GATEHOUSE_ALLOW_PRIVATE_NETWORKS: 'allowPrivateNetworks',
  GATEHOUSE_TRUST_PROXY: 'trustProxy',
  GATEHOUSE_LOG_LEVEL: 'logLevel',
  GATEHOUSE_BODY_LIMIT_BYTES: 'bodyLimitBytes',
  GATEHOUSE_SQLITE_SYNC: 'sqliteSync',
  GATEHOUSE_SHUTDOWN_TIMEOUT_SECONDS: 'shutdownTimeoutSeconds',
};

export const environmentSettings = Object.freeze({ ...environmentNames });

/** A layer of values (flags, environment or the file) and how to name one of its settings in an error. */
interface Layer {
  values: Record<string, unknown>;
  label(path: string): string;
}

function environmentLayer(env: NodeJS.ProcessEnv, problems: ConfigProblem[]): Layer {
  const values: Record<string, unknown> = {};
  const names = new Map<string, string>();
  for (const [name, key] of Object.entries(environmentNames)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    values[key] = value;
    names.set(key, name);
  }
  const noDemo = env.GATEHOUSE_NO_DEMO;
  if (noDemo !== undefined && noDemo !== '') {
    const parsed = booleanish.safeParse(noDemo);
    if (parsed.success) values.demo = !parsed.data;
    else problems.push({ setting: 'GATEHOUSE_NO_DEMO', problem: `${JSON.stringify(noDemo)} is not a yes/no value`, fix: 'Set it to true or false' });
  }
  const sso = ssoFromEnvironment(env);
  if (sso) values.sso = sso;
  return { values, label: (key) => names.get(key) ?? key };
}

function flagLayer(flags: ConfigFlags): Layer {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined || key === 'config' || key === 'noDemo') continue;
    values[key] = value;
  }
  // commander turns `--no-demo` into demo=false, but only when the flag was given.
  if (flags.noDemo === true) values.demo = false;
  // Nested settings have no flag (programmatic callers pass them here): they are named by their key.
  const label = (key: string) =>
    key === 'demo' ? '--no-demo' : key.includes('.') ? key : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return { values, label };
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
  if (!isJsonObject(parsed)) {
    throw new ConfigError('--config', `${file} must hold an object of settings`, 'See docs/configuration.md for the keys');
  }
  return parsed;
}

/** Deep-merges plain objects so a config file may set one nested value and keep the others' defaults. */
function merge(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      const previous = result[key];
      result[key] =
        isJsonObject(previous) && isJsonObject(value) ? merge(previous, value) : value;
    }
  }
  return result;
}

function hasValueAt(values: Record<string, unknown>, path: readonly string[]): boolean {
  let at: unknown = values;
  for (const key of path) {
    if (!isJsonObject(at) || !(key in at)) return false;
    at = at[key];
  }
  return true;
}

/** Names a setting by the layer its value came from: `--port`, `GATEHOUSE_PORT`, or `gatehouse.yaml: port`. */
function labelOf(path: readonly string[], layers: readonly Layer[]): string {
  const key = path.join('.');
  // The first element of the path names a top-level setting; nested ones have no flag or variable twin.
  const source = [...layers].reverse().find((layer) => hasValueAt(layer.values, path));
  return source ? source.label(key) : key || 'config';
}

function issueProblems(issues: readonly z.core.$ZodIssue[], layers: readonly Layer[]): ConfigProblem[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        setting: labelOf([...path, key], layers),
        problem: 'is not a known setting',
        fix: 'Remove it or check its spelling against docs/configuration.md',
      }));
    }
    return [{ setting: labelOf(path, layers), problem: issue.message, fix: 'Fix the value or leave it unset for the default' }];
  });
}

/** Checks of parts of the config that other modules own (the upstreams), handed in so that config stays a leaf. */
export interface ConfigChecks {
  /** Problems of the `upstreams` entries, each `setting` relative to the file (`upstreams[0].name`). */
  upstreams?(raw: readonly Record<string, unknown>[]): ConfigProblem[];
}

/**
 * Flags > GATEHOUSE_* environment > config file > defaults, validated whole into one Config. Every problem is
 * collected before anything is refused, so an operator fixes them all in one round.
 */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env, checks: ConfigChecks = {}): Config {
  const configFile = (flags.config as string | undefined) ?? (env.GATEHOUSE_CONFIG || undefined);
  const problems: ConfigProblem[] = [];
  const file: Layer = { values: configFile ? readConfigFile(configFile) : {}, label: (key) => `${configFile}: ${key}` };
  const layers = [file, environmentLayer(env, problems), flagLayer(flags)];
  const merged = merge(...layers.map((layer) => layer.values));
  const upstreams = Array.isArray(merged.upstreams) && merged.upstreams.every(isJsonObject) ? merged.upstreams : [];
  for (const problem of checks.upstreams?.(upstreams) ?? []) problems.push({ ...problem, setting: file.label(problem.setting) });
  const result = settingsSchema.safeParse(merged);
  if (!result.success) throw new ConfigError([...problems, ...issueProblems(result.error.issues, layers)]);
  const settings = result.data;
  const refuse = (path: string, problem: string, fix: string) => problems.push({ setting: labelOf(path.split('.'), layers), problem, fix });
  if (settings.oauth.refreshTokenIdleSeconds > settings.oauth.refreshTokenAbsoluteSeconds) {
    refuse('oauth.refreshTokenIdleSeconds', 'is longer than oauth.refreshTokenAbsoluteSeconds', 'Make the idle lifetime the shorter of the two');
  }
  if (settings.sessions.idleTimeoutSeconds > settings.sessions.absoluteTimeoutSeconds) {
    refuse('sessions.idleTimeoutSeconds', 'is longer than sessions.absoluteTimeoutSeconds', 'Make the idle timeout the shorter of the two');
  }
  for (const problem of ssoProblems(settings.sso, settings.allowPrivateNetworks)) problems.push({ ...problem, setting: labelOf(problem.setting.split('.'), layers) });
  if (problems.length > 0) throw new ConfigError(problems);
  const publicUrl = settings.publicUrl ?? defaultPublicUrl(settings.host, settings.port);
  return {
    ...settings,
    dataDir: path.resolve(settings.dataDir),
    publicUrl,
    secureCookies: publicUrl.startsWith('https:'),
    configFile,
    secretKey: env.GATEHOUSE_SECRET_KEY || undefined,
    adminPassword: env.GATEHOUSE_ADMIN_PASSWORD || undefined,
    metricsToken: env.GATEHOUSE_METRICS_TOKEN || undefined,
  };
}

/**
 * An IdP is reached over https; plain http only on loopback and only with --allow-private-networks (development, tests).
 * Without a provider, turning password sign-in off would leave the sign-in page with no way in.
 */
function ssoProblems(sso: SsoSettings, allowPrivateNetworks: boolean): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!sso.password_login && sso.providers.length === 0) {
    problems.push({ setting: 'sso.password_login', problem: 'is false but no sso.providers are configured', fix: 'Configure a provider, or keep password sign-in on' });
  }
  sso.providers.forEach((provider, index) => {
    const issuer = new URL(provider.issuer);
    if (issuer.protocol === 'https:') return;
    const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(issuer.hostname);
    if (!loopback || !allowPrivateNetworks) {
      problems.push({
        setting: `sso.providers.${index}.issuer`,
        problem: `${provider.issuer} is not https`,
        fix: 'Use the https issuer of the identity provider (http only for a loopback IdP with --allow-private-networks)',
      });
    }
  });
  return problems;
}

function defaultPublicUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const hostPart = reachable.includes(':') ? `[${reachable}]` : reachable;
  return `http://${hostPart}:${port}`;
}
