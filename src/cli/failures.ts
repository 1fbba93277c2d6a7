import { ConfigError } from '../config.js';
import { KeyError } from '../crypto/key-ring.js';
import { UserInputError } from '../identity/users.js';

/** A refusal the CLI itself decides on, with its exit code: 2 for bad arguments, 1 for things that went wrong. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const DATABASE_UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET']);
/** PostgreSQL SQLSTATEs that mean "you cannot use this database": bad password, no such role or database. */
const DATABASE_REFUSED = new Set(['28P01', '28000', '3D000']);

function errorCode(error: Error): string | undefined {
  const own = (error as NodeJS.ErrnoException).code;
  if (own) return own;
  // pg tries every address of a host name and reports an AggregateError whose message is empty.
  const inner = error instanceof AggregateError ? error.errors[0] : undefined;
  return inner instanceof Error ? errorCode(inner) : undefined;
}

function firstLine(error: Error): string {
  const inner = error instanceof AggregateError && error.errors[0] instanceof Error ? (error.errors[0] as Error) : undefined;
  const text = error.message || inner?.message || error.name;
  return text.split('\n')[0]!;
}

/** One line for stderr and the exit code; never a stack trace. */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof ConfigError || error instanceof KeyError || error instanceof UserInputError) {
    return { message: error.message, exitCode: 2 };
  }
  if (!(error instanceof Error)) return { message: String(error), exitCode: 1 };
  const code = errorCode(error);
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    const where = error as NodeJS.ErrnoException & { address?: string; port?: number };
    const place = where.port !== undefined ? ` ${where.address ?? ''}:${where.port}` : '';
    const reason = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied' : 'the address is not on this machine';
    if (where.syscall === 'listen' || where.syscall === 'bind') {
      return { message: `cannot listen on${place}: ${reason}; stop the other process or choose another --port/--host`, exitCode: 1 };
    }
  }
  if (code && (DATABASE_UNREACHABLE.has(code) || DATABASE_REFUSED.has(code))) {
    return { message: `cannot use the database (${firstLine(error)}); check --database-url and that PostgreSQL is running`, exitCode: 1 };
  }
  if (code?.startsWith('SQLITE_')) {
    return { message: `cannot use the SQLite database (${firstLine(error)}); check --data-dir and its permissions`, exitCode: 1 };
  }
  return { message: firstLine(error), exitCode: 1 };
}
