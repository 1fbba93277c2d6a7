import { Command, CommanderError } from 'commander';
import { serve } from '../server.js';
import { apikeyCommand } from './apikey-commands.js';
import { CommandGroup, parserExitCode, routeParserErrors } from './command.js';
import { configOf, withConfigOptions } from './config-options.js';
import { configSchemaCommand } from './config-schema.js';
import { doctorCommand } from './doctor.js';
import { describeFailure } from './failures.js';
import { keysCommand } from './keys-commands.js';
import { maintenanceCommands } from './maintenance-commands.js';
import { userCommand } from './user-commands.js';
import { VERSION } from '../version.js';

function serveCommand(): Command {
  return withConfigOptions(
    new Command('serve')
      .description('run the gateway until SIGTERM or SIGINT')
      .action(async (_options: unknown, command: Command) => {
        await serve(configOf(command));
      }),
  );
}

export function buildProgram(): Command {
  const program = new CommandGroup('gatehouse')
    .description('An MCP gateway that is its own OAuth 2.1 authorization server')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .addCommand(serveCommand())
    .addCommand(userCommand())
    .addCommand(apikeyCommand())
    .addCommand(keysCommand())
    .addCommand(doctorCommand())
    .addCommand(configSchemaCommand());
  for (const command of maintenanceCommands()) program.addCommand(command);
  routeParserErrors(program);
  return program;
}

/** Parses argv and runs the command; resolves to the exit code once a one-shot command has finished. */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    // Commander has already printed its one line (or the help); only the exit code is left to decide.
    if (error instanceof CommanderError) return parserExitCode(error);
    const failure = describeFailure(error);
    process.stderr.write(`gatehouse: ${failure.message}\n`);
    return failure.exitCode;
  }
}
