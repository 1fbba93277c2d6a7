import { Command, CommanderError, type HelpContext } from 'commander';

/** A command that only groups subcommands (`gatehouse`, `user`, `apikey`). */
export class CommandGroup extends Command {
  override createCommand(name?: string): Command {
    return new CommandGroup(name);
  }

  /** Commander prints the whole help on stderr when a subcommand is missing; we print one line instead. */
  override help(context?: HelpContext | ((text: string) => string)): never {
    if (typeof context === 'object' && context.error) {
      const path = commandPath(this);
      const names = this.commands.map((command) => command.name()).join(', ');
      this.error(`${path} needs a command (${names}); see ${path} --help`, { code: 'gatehouse.missingCommand', exitCode: 2 });
    }
    return super.help(context as HelpContext);
  }
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

function* everyCommand(root: Command): Generator<Command> {
  yield root;
  for (const child of root.commands) yield* everyCommand(child);
}

/**
 * Commander errors become one `gatehouse: <reason>` line on stderr and a thrown CommanderError; the caller
 * exits 0 for help and version, 2 for everything else. Applied to every command, since `addCommand` does not
 * pass these settings down.
 */
export function routeParserErrors(root: Command): void {
  for (const command of everyCommand(root)) {
    command.exitOverride();
    command.configureOutput({
      outputError: (text, write) => write(`${root.name()}: ${text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`),
    });
  }
}

export function parserExitCode(error: CommanderError): number {
  return error.exitCode === 0 ? 0 : 2;
}
