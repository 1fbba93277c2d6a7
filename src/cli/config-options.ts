import { Option, type Command } from 'commander';
import { loadConfig, type Config, type ConfigFlags } from '../config.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { configUpstreamProblems } from '../upstream/upstream-service.js';

/** The settings every command accepts; each has a GATEHOUSE_* twin that loadConfig reads. */
const configOptions: readonly [flags: string, description: string][] = [
  ['--host <host>', 'address to listen on (GATEHOUSE_HOST, default 127.0.0.1)'],
  ['--port <port>', 'port to listen on (GATEHOUSE_PORT, default 8080)'],
  ['--public-url <url>', 'the issuer URL clients reach, no trailing slash (GATEHOUSE_PUBLIC_URL)'],
  ['--data-dir <dir>', 'directory for the SQLite database and the key file (GATEHOUSE_DATA_DIR, default ./data)'],
  ['--database-url <url>', 'postgres://… selects PostgreSQL instead of SQLite (GATEHOUSE_DATABASE_URL)'],
  ['--config <file>', 'JSON or YAML settings file (GATEHOUSE_CONFIG)'],
  ['--no-demo', 'do not expose the built-in demo upstream (GATEHOUSE_NO_DEMO)'],
  ['--allow-private-networks', 'let outbound fetches reach loopback and private addresses (GATEHOUSE_ALLOW_PRIVATE_NETWORKS)'],
  ['--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (GATEHOUSE_LOG_LEVEL, default info)'],
  ['--shutdown-timeout-seconds <seconds>', 'on SIGTERM/SIGINT, exit 1 if stopping takes longer (GATEHOUSE_SHUTDOWN_TIMEOUT_SECONDS, default 25)'],
];

/** Option names as commander stores them, mapped to loadConfig's flag names. */
const valueFlags = ['host', 'port', 'publicUrl', 'dataDir', 'databaseUrl', 'config', 'allowPrivateNetworks', 'logLevel', 'shutdownTimeoutSeconds'] as const;

/** Adds the settings under their own heading in --help; call it last so the command's own options come first. */
export function withConfigOptions(command: Command): Command {
  const group = 'Settings (flag > GATEHOUSE_* environment > --config file > default):';
  for (const [flags, description] of configOptions) command.addOption(new Option(flags, description).helpGroup(group));
  return command;
}

/** Only flags typed on the command line count, so commander's defaults never hide an environment variable. */
export function configFlagsOf(command: Command): ConfigFlags {
  const given = (name: string) => command.getOptionValueSource(name) === 'cli';
  const options = command.opts();
  const flags: ConfigFlags = {};
  for (const name of valueFlags) if (given(name)) flags[name] = options[name];
  if (given('demo') && options.demo === false) flags.noDemo = true;
  return flags;
}

/** The whole config, its upstreams included, validated before any command opens or creates anything. */
export function configOf(command: Command): Config {
  return loadConfig(configFlagsOf(command), process.env, { upstreams: configUpstreamProblems });
}

/** Runs one CLI command against an open runtime and always closes the database afterwards. */
export async function withRuntime<T>(command: Command, work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime(configOf(command));
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}
