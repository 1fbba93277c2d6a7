import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { BearerSource } from './oauth/bearer-fetch.js';
import { NeedsAuthorization } from './oauth/token-vault.js';
import type { UpstreamSecrets } from './settings.js';
import { negotiateEra } from './streamable-http/era-negotiation.js';
import { openTransport, type OpenedTransport } from './transports.js';
import type { Upstream, UpstreamEvent, UpstreamSettings, UpstreamStatus } from './types.js';
import { UpstreamClient } from './upstream-client.js';

export interface Backoff {
  /** First retry delay; each failure doubles it up to maxMs. */
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 60_000 };

/** How long a liveness check may take after the transport reported trouble. */
const PROBE_TIMEOUT_MS = 5000;

export interface ConnectionOptions {
  id: string;
  settings: UpstreamSettings;
  secrets: UpstreamSecrets;
  /** The token source of an OAuth upstream; without a token the connection waits in `needs_auth`, not in backoff. */
  bearer?: BearerSource;
  backoff: Backoff;
  now: () => number;
  random: () => number;
  emit: (event: UpstreamEvent) => void;
  /** Told of every state change (the registry uses it for waiters and logs). */
  onStatus: (connection: UpstreamConnection) => void;
  clientVersion: string;
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // A cause (ECONNREFUSED, …) says more than "fetch failed".
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${message}${cause}`.slice(0, 500);
}

/**
 * One upstream kept connected: an SDK Client over a fresh transport per attempt. A failed attempt or a lost
 * connection schedules the next attempt with exponential backoff and jitter; `close` stops everything.
 */
export class UpstreamConnection implements Upstream {
  private current: { client: UpstreamClient; opened: OpenedTransport } | undefined;
  /** The client of the attempt in progress, so that close and reconnect can abort a hanging one. */
  private pending: { client: UpstreamClient; opened: OpenedTransport } | undefined;
  private state: UpstreamStatus = { state: 'connecting' };
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt: Promise<void> | undefined;
  private probing = false;
  private closed = false;
  /** Bumped on every attempt and on close, so callbacks of an old client are ignored. */
  private generation = 0;

  constructor(private readonly options: ConnectionOptions) {}

  get id(): string {
    return this.options.id;
  }

  get settings(): UpstreamSettings {
    return this.options.settings;
  }

  status(): UpstreamStatus {
    return this.state;
  }

  client(): UpstreamClient | undefined {
    return this.state.state === 'connected' ? this.current?.client : undefined;
  }

  /** Starts connecting; resolves when this attempt has succeeded or failed (a failure schedules a retry). */
  connect(): Promise<void> {
    if (this.attempt) return this.attempt;
    const attempt = this.runAttempt().finally(() => {
      if (this.attempt === attempt) this.attempt = undefined;
    });
    this.attempt = attempt;
    return attempt;
  }

  /** Drops the connection and tries again at once, with the backoff reset. */
  async reconnect(): Promise<UpstreamStatus> {
    if (this.closed) return this.state;
    await this.abortAttempt();
    this.failures = 0;
    await this.drop();
    await this.connect();
    return this.state;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation += 1;
    clearTimeout(this.retryTimer);
    await this.abortAttempt();
    await this.drop();
  }

  private async abortAttempt(): Promise<void> {
    const { pending, attempt } = this;
    if (!attempt) return;
    this.generation += 1;
    this.pending = undefined;
    // Closing the client closes its transport, which fails the pending initialize at once; releasing the transport
    // ends the direct path, which fails a pending `server/discover`.
    await pending?.client.close().catch(() => undefined);
    await pending?.opened.release().catch(() => undefined);
    await attempt;
  }

  private async runAttempt(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    const generation = ++this.generation;
    this.setState({ state: 'connecting' });
    let opened: OpenedTransport | undefined;
    const client = new UpstreamClient(this.options.clientVersion, { streamableHttp: this.settings.connection_type === 'http' });
    try {
      // A token first: an upstream nobody has authorized yet is not an error to retry, it waits for an authorization.
      await this.options.bearer?.token();
      opened = await openTransport(this.settings, this.options.secrets, this.options.bearer);
      this.watch(client, generation, opened);
      this.pending = { client, opened };
      await openInItsEra(client, opened, this.settings.timeout_ms);
    } catch (error) {
      if (this.pending?.client === client) this.pending = undefined;
      await client.close().catch(() => undefined);
      await opened?.release().catch(() => undefined);
      const tail = opened?.stderrTail?.();
      if (generation !== this.generation) return;
      if (error instanceof NeedsAuthorization) this.setState({ state: 'needs_auth', reason: error.reason });
      else this.fail(tail ? `${reasonOf(error)} (stderr: ${tail})` : reasonOf(error));
      return;
    }
    if (this.pending?.client === client) this.pending = undefined;
    if (generation !== this.generation || this.closed) {
      await client.close().catch(() => undefined);
      await opened.release().catch(() => undefined);
      return;
    }
    this.current = { client, opened };
    this.failures = 0;
    this.setState({ state: 'connected', since: this.options.now(), protocol: client.protocol() });
    this.announceLists();
  }

  private watch(client: UpstreamClient, generation: number, opened: OpenedTransport): void {
    const live = () => generation === this.generation && !this.closed;
    client.watchNotifications({
      listChanged: (kind) => {
        if (live()) this.options.emit({ kind: `${kind}_changed`, upstreamId: this.id });
      },
      log: (params) => {
        if (live()) this.options.emit({ kind: 'log', upstreamId: this.id, params });
      },
      resourceUpdated: (uri) => {
        if (live()) this.options.emit({ kind: 'resource_updated', upstreamId: this.id, uri });
      },
    });
    client.onclose = () => {
      if (!live() || this.state.state !== 'connected') return;
      const tail = opened.stderrTail?.();
      void this.lose(tail ? `the connection closed (stderr: ${tail})` : 'the connection closed');
    };
    // HTTP transports never "close" when the server goes away: a transport error triggers a liveness check.
    client.onerror = () => {
      if (live() && this.state.state === 'connected') void this.probe(client, generation);
    };
  }

  private async probe(client: UpstreamClient, generation: number): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await client.ping({ timeout: Math.min(PROBE_TIMEOUT_MS, this.settings.timeout_ms) });
    } catch (error) {
      if (generation !== this.generation || this.closed) return;
      if (error instanceof NeedsAuthorization) await this.lose(error.reason, true);
      else await this.lose(`lost the connection: ${reasonOf(error)}`);
    } finally {
      this.probing = false;
    }
  }

  private async lose(reason: string, needsAuth = false): Promise<void> {
    this.generation += 1;
    await this.drop();
    this.announceLists();
    if (needsAuth) this.setState({ state: 'needs_auth', reason });
    else this.fail(reason);
  }

  private fail(reason: string): void {
    if (this.closed) return;
    const { initialMs, maxMs } = this.options.backoff;
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.failures, 30));
    // Jitter in [base/2, base]: replicas and upstreams that failed together do not retry in lockstep.
    const delay = Math.round(base / 2 + (base / 2) * this.options.random());
    this.failures += 1;
    this.setState({ state: 'error', reason, retryAt: this.options.now() + delay });
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private async drop(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (!current) return;
    // Closing fires onclose, which is ignored: the generation moved on, or the state is no longer `connected`.
    this.generation += 1;
    await current.client.close().catch(() => undefined);
    await current.opened.release().catch(() => undefined);
  }

  /** The tools (and resources, prompts) of this upstream appeared or vanished for everyone. */
  private announceLists(): void {
    for (const kind of ['tools_changed', 'resources_changed', 'prompts_changed'] as const) this.options.emit({ kind, upstreamId: this.id });
  }

  private setState(state: UpstreamStatus): void {
    this.state = state;
    this.options.onStatus(this);
  }
}

/**
 * Speaks to the upstream in its era: a Streamable HTTP or stdio upstream is asked with `server/discover` first and,
 * when it is stateless (2026-07-28), taken as such; otherwise (and for the legacy SSE transport and the in-process
 * demo) the SDK client's `initialize`.
 */
export async function openInItsEra(client: UpstreamClient, opened: Pick<OpenedTransport, 'transport' | 'direct' | 'silenceMeansLegacy'>, timeoutMs: number): Promise<void> {
  const transport = client.attach(opened);
  if (opened.direct) {
    const negotiated = await negotiateEra(opened.direct, client.clientInfo, timeoutMs, { silenceMeansLegacy: opened.silenceMeansLegacy });
    if (negotiated.era === 'stateless') return client.speakStateless(negotiated, transport, opened.direct);
  }
  await client.connect(transport, { timeout: timeoutMs });
  settleResponsesAfterNotifications(opened.transport);
}

/**
 * The SDK (1.x) runs a notification's handler one microtask late but settles a response at once. Over stdio a
 * tool's last progress notification and its result arrive in one read, so the result would win and the progress
 * find its handler gone. A response therefore waits one microtask, behind the notifications that came before it.
 */
function settleResponsesAfterNotifications(transport: Transport): void {
  const deliver = transport.onmessage;
  if (!deliver) return;
  transport.onmessage = (message, extra) => {
    if ('id' in message && !('method' in message)) queueMicrotask(() => deliver(message, extra));
    else deliver(message, extra);
  };
}
