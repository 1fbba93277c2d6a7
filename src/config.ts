import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { isJsonObject } from './json-object.js';
import { booleanish, ssoFromEnvironment, type SsoSettings } from './config-sso.js';
import { settingsSchema, type Settings } from './config-settings.js';

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
