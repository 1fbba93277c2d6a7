import { z } from 'zod';
import { DEFAULT_SCOPES, formatScope, KNOWN_SCOPES, parseScope } from './oauth/scopes.js';
import { booleanish, ssoSettings } from './config-sso.js';

/**
 * What each setting may be and its default: the schema that config.ts validates the merged flags, environment and
 * file against, and that `gatehouse config-schema` prints. A leaf like config.ts.
 */

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

export type Settings = z.infer<typeof settingsSchema>;
