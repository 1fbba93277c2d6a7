import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'fastify/types/logger.js';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';
import { boundedLogOutput, type LogOutput, type LogOutputOptions } from './log-output.js';

/** Headers that carry credentials. */
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'];

/**
 * Fields that hold credentials in any object we might log (bodies, records, upstream responses).
 * Not `code`: errors carry `code` too, and an authorization code only travels in query strings, handled below.
 */
export const SECRET_FIELDS = [
  'password',
  'token',
  'secret',
  'key',
  'client_secret',
  'refresh_token',
  'access_token',
  'id_token',
  'code_verifier',
  'authorization',
  'cookie',
] as const;

const CENSOR = '[redacted]';

/**
 * pino's redaction has no "any depth" wildcard, so each field is listed at the top level and up to three
 * levels down; deeper nesting does not occur in what we log. Request bodies are redacted whole.
 */
function redactPaths(): string[] {
  const prefixes = ['', '*.', '*.*.', '*.*.*.'];
  const fields = SECRET_FIELDS.flatMap((field) => prefixes.map((prefix) => `${prefix}${field}`));
  const headers = SECRET_HEADERS.flatMap((name) =>
    ['headers', '*.headers', '*.*.headers'].map((where) => `${where}["${name}"]`),
  );
  const bodies = ['body.*', '*.body.*'];
  return [...fields, ...headers, ...bodies];
}

/** Query parameters whose values are credentials (OAuth callbacks, tokens); their values never reach the log. */
const SECRET_QUERY_PARAMS = [...SECRET_FIELDS, 'code', 'api_key', 'apikey', 'approval'];
const SECRET_QUERY_VALUE = new RegExp(`([?&](?:${SECRET_QUERY_PARAMS.join('|')})=)[^&#\\s"]*`, 'gi');

/** Text (a URL, or a message quoting one) with the values of credential-bearing query parameters replaced. */
export function redactQuerySecrets(text: string): string {
  return text.includes('=') ? text.replace(SECRET_QUERY_VALUE, `$1${CENSOR}`) : text;
}

/** What a request line says about the request: never headers, and the URL with credentials removed. */
function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactQuerySecrets(request.url),
    host: request.host,
    remoteAddress: request.ip,
  };
}

/** JSON logs; credentials are redacted wherever they could appear. */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      redact: { paths: redactPaths(), censor: CENSOR },
      serializers: { req: serializeRequest, err: pino.stdSerializers.err },
      hooks: {
        // Fastify's own messages quote the raw URL ("Route GET:/cb?code=… not found").
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactQuerySecrets(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

/** The server's logger and the bounded output it writes to (read for metrics, drained at shutdown). */
export interface ServerLog {
  logger: Logger;
  output: LogOutput;
}

/** JSON lines on stdout that never block the process nor pile up in memory: see log-output.ts. */
export function createServerLog(
  config: Pick<Config, 'logLevel'>,
  stream: Writable = process.stdout,
  options: Pick<LogOutputOptions, 'maxBufferedChars'> = {},
): ServerLog {
  let logger: Logger | undefined;
  const output = boundedLogOutput(stream, {
    ...options,
    onRecovered: (droppedLines) => logger?.warn({ droppedLines }, `log output was blocked: ${droppedLines} lines were dropped`),
  });
  logger = createLogger(config, output);
  return { logger, output };
}

/**
 * A request's logger, made on its first message at an enabled level (below). Its methods live on the prototype, so a
 * request that logs nothing costs one small object: /mcp and /oauth/token make one per request.
 */
class LazyChildLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private logger(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return (this.made ?? this.parent).level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger().child(bindings, options);
  }

  silent(): void {}

  /** What each level's method does (they are set on the prototype below). */
  log(level: pino.Level, args: LogArgs): void {
    if (this.made !== undefined || pino.levels.values[level]! >= (pino.levels.values[this.parent.level] ?? Number.POSITIVE_INFINITY)) this.logger()[level](...args);
  }
}

type LogArgs = Parameters<FastifyBaseLogger['info']>;

for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const) {
  Object.defineProperty(LazyChildLogger.prototype, level, {
    value(this: LazyChildLogger, ...args: LogArgs) {
      this.log(level, args);
    },
  });
}

/**
 * Fastify's `childLoggerFactory`: a request's logger, made on its first message at an enabled level. Most requests
 * log nothing at the configured level, and making a child runs the redaction over its bindings (a few per cent of
 * a short request's CPU).
 */
export function lazyChildLogger(this: unknown, logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a caller's X-Request-Id when it is harmless, so logs can be joined across hops; otherwise a new UUID. */
export function requestIdFrom(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** onRequest hook: every response names the request id its log lines carry (`reqId`), errors included. */
export async function echoRequestId(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('x-request-id', request.id);
}
