import { Command } from 'commander';
import { ConfigError, type Config } from '../config.js';
import { parseConfigUpstreams } from '../upstream/upstream-service.js';
import { withConfigOptions, configFlagsOf, configOf } from './config-options.js';
import {
  checkDatabase,
  checkDataDir,
  checkIssuer,
  checkKeyMatchesDatabase,
  checkMasterKey,
  checkPort,
  checkSqliteFile,
  openForInspection,
  storedApiUpstreams,
  type CheckResult,
} from './doctor-checks.js';
import { checkUpstream, type UpstreamToProbe } from './doctor-upstreams.js';

function formatCheck(check: CheckResult): string {
  const fix = check.fix ? `\n      fix: ${check.fix}` : '';
  return `${check.status.padEnd(4)}  ${check.name}: ${check.detail}${fix}\n`;
}

/** Runs every check that the previous ones make possible, reporting each as soon as it is known. */
async function* runChecks(command: Command): AsyncGenerator<CheckResult> {
  let config: Config;
  try {
    config = configOf(command);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) yield { status: 'FAIL', name: 'config', detail: `${problem.setting}: ${problem.problem}`, fix: problem.fix };
    return;
  }
  yield { status: 'ok', name: 'config', detail: `valid${config.configFile ? ` (file ${config.configFile})` : ''}` };
  yield checkDataDir(config);
  const { result: keyResult, master } = checkMasterKey(config);
  yield keyResult;
  const fileResult = checkSqliteFile(config);
  if (fileResult) yield fileResult;

  const upstreams: UpstreamToProbe[] = parseConfigUpstreams(config.upstreams).map((parsed) => ({ ...parsed, origin: 'config file' }));
  const database = openForInspection(config);
  if (database) {
    try {
      const { result, version } = await checkDatabase(database);
      yield result;
      if (version > 0 && master) yield await checkKeyMatchesDatabase(database, master);
      if (version > 0) upstreams.push(...(await storedApiUpstreams(database, master)));
      if (version > 0 && !master && keyResult.status !== 'FAIL') {
        yield {
          status: 'FAIL',
          name: 'key matches database',
          detail: 'the database exists but its master key is missing; stored secrets cannot be read without it',
          fix: 'restore the original secret.key into the data directory or set the original GATEHOUSE_SECRET_KEY',
        };
      }
    } finally {
      await database.close();
    }
  }

  const given = configFlagsOf(command).publicUrl ?? process.env.GATEHOUSE_PUBLIC_URL;
  yield checkIssuer(config, typeof given === 'string' ? given : undefined);
  yield await checkPort(config);
  if (upstreams.length === 0) yield { status: 'ok', name: 'upstreams', detail: config.demo ? 'none configured; the demo upstream is served' : 'none configured' };
  for (const upstream of upstreams) yield await checkUpstream(upstream);
}

export function doctorCommand(): Command {
  return withConfigOptions(
    new Command('doctor')
      .description('check the config, database, data directory permissions, keys, issuer URL and upstreams, and say what to fix')
      .action(async (_options: unknown, command: Command) => {
        let failed = false;
        for await (const check of runChecks(command)) {
          process.stdout.write(formatCheck(check));
          failed ||= check.status === 'FAIL';
        }
        process.stdout.write(failed ? 'Some checks failed; fix them and run gatehouse doctor again.\n' : 'All checks passed.\n');
        if (failed) process.exitCode = 1;
      }),
  );
}
