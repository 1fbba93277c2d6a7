import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPublicAddress } from './address-policy.js';

/**
 * An HTTP request to a URL that an outsider chose (a CIMD client_id, discovered metadata, an authorization
 * server's token endpoint), guarded against SSRF:
 * the host's every resolved address must pass the policy, the connection is pinned to a vetted address so
 * DNS rebinding cannot swap it, redirects are re-checked hop by hop, and size and time are bounded.
 *
 * Built on node:http(s) rather than the global fetch: pinning needs a custom `lookup`, which `https.request` takes
 * directly while still verifying the certificate against the hostname (the global fetch would need an undici
 * `Agent` of its own per call for it).
 */

export type GuardedFetchFailure =
  | 'bad_url'
  | 'bad_scheme'
  | 'dns_failure'
  | 'blocked_address'
  | 'connection_failed'
  | 'too_many_redirects'
  | 'http_status'
  | 'too_large'
  | 'timeout';

/** A refused or failed fetch. The message names the URL's host at most: never a resolved address or a body. */
export class GuardedFetchError extends Error {
  constructor(
    readonly reason: GuardedFetchFailure,
    message: string,
    /** The HTTP status, for `http_status`. */
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'GuardedFetchError';
  }
}

const FAILURE_SUMMARIES: Record<GuardedFetchFailure, string> = {
  bad_url: 'the URL is not usable',
  bad_scheme: 'only https URLs are fetched',
  dns_failure: 'a host could not be resolved',
  blocked_address: 'it leads to an address that is not allowed',
  connection_failed: 'the connection failed',
  too_many_redirects: 'it redirected where it may not',
  http_status: 'it answered with an error status',
  too_large: 'the answer was too large',
  timeout: 'it took too long',
};

/**
 * The failure in words that name no host, address or fetched value (a redirect's target is one): for messages that
 * leave the server. The error's own message, with the host, is for the log.
 */
export function fetchFailureSummary(error: GuardedFetchError): string {
  return FAILURE_SUMMARIES[error.reason];
}

export interface GuardedFetchOptions {
  /** Development and tests only: permits `http:` and, unless `isAllowedAddress` says otherwise, any address. */
  allowPrivateNetworks?: boolean;
  maxBytes: number;
  /** For the whole fetch, redirects included. */
  timeoutMs: number;
  /** Default 3; 0 refuses any redirect. */
  maxRedirects?: number;
  accept?: string;
  /** Default GET. */
  method?: string;
  /** Extra request headers (a `user-agent` or `accept` here wins over the defaults). */
  headers?: Record<string, string>;
  /** A request body; a redirect by 301, 302 or 303 drops it and continues with GET, as browsers do. */
  body?: string | Buffer;
  /** `manual` answers a redirect as it is, unfollowed (what fetch's `redirect: 'manual'` callers expect). Default `follow`. */
  redirect?: 'follow' | 'manual';
  /** Answer a non-2xx status with its (size-bounded) body instead of failing with `http_status`. */
  acceptAnyStatus?: boolean;
  /**
   * Origins an admin chose (an upstream's own): reached over http and on any address. Checked on every hop, so a
   * redirect off a trusted origin is vetted like any other URL.
   */
  trustedOrigins?: readonly string[];
  /** Overrides the address policy (default: public addresses only, or anything with allowPrivateNetworks). */
  isAllowedAddress?: (address: string) => boolean;
  /** Hostname resolution, default `dns.lookup` with all addresses. */
  resolveHost?: (hostname: string) => Promise<string[]>;
  /** Extra trusted CA certificates (PEM), e.g. a test's self-signed loopback server. Replaces the default CAs. */
  ca?: string | Buffer;
}

export interface GuardedResponse {
  /** The URL that answered, after redirects. */
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const DEFAULT_MAX_REDIRECTS = 3;

async function systemResolve(hostname: string): Promise<string[]> {
  return (await dnsLookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);
}

function isTrustedOrigin(url: URL, options: GuardedFetchOptions): boolean {
  return options.trustedOrigins?.some((trusted) => URL.canParse(trusted) && new URL(trusted).origin === url.origin) ?? false;
}

function parseTarget(target: string, options: GuardedFetchOptions, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(target, base);
  } catch {
    throw new GuardedFetchError('bad_url', 'the URL is not an absolute URL');
  }
  const allowHttp = options.allowPrivateNetworks === true || isTrustedOrigin(url, options);
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    throw new GuardedFetchError('bad_scheme', `${url.protocol} URLs are not fetched${allowHttp ? '' : ': https is required'}`);
  }
  if (url.username || url.password) throw new GuardedFetchError('bad_url', `the URL for ${url.host} carries credentials`);
  return url;
}

/** Resolves the host and vets every address: one bad address refuses the host, as a rebinding DNS could pick it later. */
async function vettedAddress(url: URL, options: GuardedFetchOptions, signal: AbortSignal): Promise<string> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const resolve = options.resolveHost ?? systemResolve;
  let addresses: string[];
  if (isIP(hostname)) {
    addresses = [hostname];
  } else {
    try {
      addresses = await abortable(resolve(hostname), signal);
    } catch (error) {
      if (signal.aborted) throw timeoutError(url);
      throw new GuardedFetchError('dns_failure', `the host ${url.hostname} could not be resolved`, undefined, { cause: error });
    }
  }
  const allowed = isTrustedOrigin(url, options) ? () => true : (options.isAllowedAddress ?? (options.allowPrivateNetworks ? () => true : isPublicAddress));
  if (addresses.length === 0 || !addresses.every(allowed)) {
    throw new GuardedFetchError('blocked_address', `the host ${url.hostname} resolves to a private or special-purpose address`);
  }
  return addresses[0]!;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function timeoutError(url: URL): GuardedFetchError {
  return new GuardedFetchError('timeout', `fetching from ${url.host} took too long`);
}

/** A lookup that answers with the vetted address whatever is asked, in both callback shapes net.connect uses. */
function pinnedLookup(address: string): LookupFunction {
  const family = isIP(address);
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
}

/** One hop's method and body: what the caller asked, or a GET without body after a 301/302/303. */
interface HopRequest {
  method: string;
  body?: string | Buffer;
}

function request(url: URL, address: string, hopRequest: HopRequest, options: GuardedFetchOptions, signal: AbortSignal): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { accept: options.accept ?? '*/*', 'user-agent': 'Gatehouse', ...options.headers };
  if (hopRequest.body === undefined) {
    delete headers['content-type'];
  } else {
    headers['content-length'] = String(Buffer.byteLength(hopRequest.body));
  }
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      method: hopRequest.method,
      headers,
      lookup: pinnedLookup(address),
      // A fresh connection each time: a pooled socket would skip the lookup, and with it the pin.
      agent: false,
      signal,
      ...(options.ca && url.protocol === 'https:' ? { ca: options.ca } : {}),
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end(hopRequest.body);
  });
}

async function readBody(response: IncomingMessage, url: URL, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new GuardedFetchError('too_large', `the response from ${url.host} is larger than ${maxBytes} bytes`);
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      response.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function isRedirect(status: number): boolean {
  return [301, 302, 303, 307, 308].includes(status);
}

async function fetchHops(target: string, options: GuardedFetchOptions, signal: AbortSignal): Promise<GuardedResponse> {
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  let url = parseTarget(target, options);
  let hopRequest: HopRequest = { method: options.method ?? 'GET', ...(options.body !== undefined ? { body: options.body } : {}) };
  for (let hop = 0; ; hop++) {
    const address = await vettedAddress(url, options, signal);
    const response = await request(url, address, hopRequest, options, signal).catch((error: unknown) => {
      if (signal.aborted) throw timeoutError(url);
      throw new GuardedFetchError('connection_failed', `could not fetch from ${url.host}`, undefined, { cause: error });
    });
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (isRedirect(status) && location && options.redirect !== 'manual') {
      response.destroy();
      if (hop >= maxRedirects) {
        throw new GuardedFetchError('too_many_redirects', maxRedirects === 0 ? `${url.host} answered with a redirect, which is not followed` : `${url.host} redirected more than ${maxRedirects} times`);
      }
      url = parseTarget(location, options, url);
      if (status !== 307 && status !== 308) hopRequest = { method: hopRequest.method === 'HEAD' ? 'HEAD' : 'GET' };
      continue;
    }
    if ((status < 200 || status > 299) && !options.acceptAnyStatus && !(options.redirect === 'manual' && isRedirect(status))) {
      response.destroy();
      throw new GuardedFetchError('http_status', `${url.host} answered with HTTP ${status}`, status);
    }
    const body = await readBody(response, url, options.maxBytes);
    return { url: url.href, status, headers: response.headers, body };
  }
}

/** Request `target` under the SSRF guard; a non-2xx final answer is a `http_status` error unless `acceptAnyStatus`. */
export async function guardedFetch(target: string, options: GuardedFetchOptions): Promise<GuardedResponse> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    return await fetchHops(target, options, signal);
  } catch (error) {
    if (error instanceof GuardedFetchError) throw error;
    if (signal.aborted) throw new GuardedFetchError('timeout', 'the fetch took too long');
    throw new GuardedFetchError('connection_failed', 'the fetch failed', undefined, { cause: error });
  }
}
