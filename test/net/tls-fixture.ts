import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { tempDir } from '../helpers/backends.js';

export interface SelfSignedCertificate {
  cert: string;
  key: string;
}

/**
 * A throwaway self-signed certificate, by default for localhost, 127.0.0.1 and `pinned.test` (a name no DNS knows);
 * `names`: other subjectAltName entries (`DNS:…`, `IP:…`).
 */
export function selfSignedCertificate(names = ['DNS:localhost', 'DNS:pinned.test', 'IP:127.0.0.1']): SelfSignedCertificate {
  const temp = tempDir('gatehouse-tls-');
  try {
    const keyFile = path.join(temp.dir, 'key.pem');
    const certFile = path.join(temp.dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-subj', '/CN=localhost', '-addext', `subjectAltName=${names.join(',')}`,
      '-days', '1', '-keyout', keyFile, '-out', certFile,
    ], { stdio: 'ignore' });
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } finally {
    temp.remove();
  }
}

export interface LocalServer {
  /** `<scheme>://<host>:<port>` */
  origin: string;
  port: number;
  /** Requests that reached the handler, and TCP connections accepted (a refused fetch leaves both at 0). */
  requests: string[];
  connections: number;
  close(): Promise<void>;
}

/** An http or (with a certificate) https server on `host`, counting what reaches it. */
export async function localServer(
  handler: http.RequestListener,
  options: { tls?: SelfSignedCertificate; host?: string } = {},
): Promise<LocalServer> {
  const host = options.host ?? '127.0.0.1';
  const state = { requests: [] as string[], connections: 0 };
  const listener: http.RequestListener = (req, res) => {
    state.requests.push(req.url ?? '');
    handler(req, res);
  };
  const server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, listener) : http.createServer(listener);
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    origin: `${options.tls ? 'https' : 'http'}://${shownHost}:${port}`,
    port,
    get requests() {
      return state.requests;
    },
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
