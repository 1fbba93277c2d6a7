import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { UpstreamSecrets } from '../upstream/settings.js';
import type { UpstreamSettings } from '../upstream/types.js';
import { VERSION } from '../version.js';
import type { CheckResult } from './doctor-checks.js';

/** An upstream as doctor sees it: from the config file, or created through the API and read from the database. */
export interface UpstreamToProbe {
  settings: UpstreamSettings;
  secrets: UpstreamSecrets;
  origin: 'config file' | 'database';
}

const PROBE_TIMEOUT_MS = 5000;

const initializeRequest = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'gatehouse-doctor', version: VERSION } },
});

function reasonOf(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `no answer within ${PROBE_TIMEOUT_MS / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** What an HTTP answer says about an upstream: the probe asked it to initialize (http) or opened its stream (sse). */
function judgeAnswer(name: string, upstream: UpstreamToProbe, status: number): CheckResult {
  const { settings } = upstream;
  const where = `${settings.connection_string} (${upstream.origin})`;
  const oauth = settings.auth_type === 'oauth' || settings.auth_type === 'per_user_oauth';
  if (status >= 200 && status < 300) return { status: 'ok', name, detail: `${where} answers MCP (HTTP ${status})` };
  if ((status === 401 || status === 403) && oauth) {
    return { status: 'ok', name, detail: `${where} is reachable and asks for authorization, as auth_type "${settings.auth_type}" expects` };
  }
  if (status === 401 || status === 403) {
    return {
      status: 'FAIL',
      name,
      detail: `${where} refuses the request (HTTP ${status})`,
      fix: settings.auth_type === 'headers' ? 'check the configured headers' : 'it needs credentials: use auth_type "headers", "oauth" or "per_user_oauth"',
    };
  }
  return { status: 'warn', name, detail: `${where} answers HTTP ${status}, not MCP`, fix: 'check connection_string and connection_type' };
}

async function probeHttp(name: string, upstream: UpstreamToProbe): Promise<CheckResult> {
  const { settings, secrets } = upstream;
  const url = settings.connection_string!;
  const headers = { ...secrets.headers, accept: 'application/json, text/event-stream' };
  try {
    const response =
      settings.connection_type === 'sse'
        ? await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
        : await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: initializeRequest, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    // An SSE answer stays open: the status line is all the probe needs.
    await response.body?.cancel().catch(() => undefined);
    const session = response.headers.get('mcp-session-id');
    if (session) {
      // Politeness: end the session the probe opened.
      await fetch(url, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': session }, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
        .then((r) => r.body?.cancel())
        .catch(() => undefined);
    }
    return judgeAnswer(name, upstream, response.status);
  } catch (error) {
    return { status: 'FAIL', name, detail: `${url} (${upstream.origin}) is unreachable (${reasonOf(error)})`, fix: 'check connection_string and that the server runs' };
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A stdio upstream is not started by doctor (it may have side effects): its command must be there to run. */
function probeStdio(name: string, upstream: UpstreamToProbe): CheckResult {
  const command = upstream.settings.stdio_config!.command;
  const candidates = command.includes('/') ? [path.resolve(command)] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, command));
  const found = candidates.find(isExecutable);
  if (found) return { status: 'ok', name, detail: `command ${command} (${upstream.origin}) is ${found}` };
  return {
    status: 'FAIL',
    name,
    detail: `command ${command} (${upstream.origin}) is not ${command.includes('/') ? 'an executable file' : 'on the PATH'}`,
    fix: 'install it, or give its absolute path in stdio_config.command',
  };
}

/** Tries to reach one upstream the way the gateway would, without changing anything there. */
export async function checkUpstream(upstream: UpstreamToProbe): Promise<CheckResult> {
  const name = `upstream ${upstream.settings.name}`;
  return upstream.settings.connection_type === 'stdio' ? probeStdio(name, upstream) : probeHttp(name, upstream);
}
