import { createServer, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A JSON-RPC message seen going through the proxy (requests and notifications; the fields tests look at). */
export interface SeenMessage {
  method?: string;
  id?: string | number;
  params?: Record<string, unknown>;
}

export interface ForwardingProxy {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** JSON-RPC messages of every POST body, oldest first. */
  messages: SeenMessage[];
  /** Stops listening and cuts every open connection (event streams included), like a process going away. */
  close(): Promise<void>;
}

/**
 * A small HTTP forwarder for tests: every request goes to the same path on `target` with `headers` added,
 * responses (event streams included) are streamed back, and JSON-RPC bodies are recorded on the way.
 * Test-only: it sees what a real server sees on the wire, and it lets a test put a header in front of a client
 * that cannot send one, without an auth-off switch in production code.
 */
export async function startForwardingProxy(
  target: string,
  options: { headers?: Record<string, string>; keepHost?: boolean } = {},
): Promise<ForwardingProxy> {
  const targetUrl = new URL(target);
  const messages: SeenMessage[] = [];
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      record(body, messages);
      const headers: OutgoingHttpHeaders = { ...incoming.headers, ...options.headers };
      if (!options.keepHost) headers.host = targetUrl.host;
      const forwarded = httpRequest(
        { host: targetUrl.hostname, port: targetUrl.port, method: incoming.method, path: incoming.url, headers },
        (response) => {
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        },
      );
      forwarded.on('error', () => {
        if (!outgoing.headersSent) outgoing.writeHead(502);
        outgoing.end();
      });
      // A client that goes away (an aborted stream) takes the upstream request with it.
      outgoing.on('close', () => forwarded.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    messages,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function record(body: Buffer, messages: SeenMessage[]): void {
  if (body.length === 0) return;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
      if (message && typeof message === 'object') messages.push(message as SeenMessage);
    }
  } catch {
    // Not JSON: nothing to record, the request is forwarded all the same.
  }
}
