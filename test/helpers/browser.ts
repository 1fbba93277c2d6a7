import { createServer, type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, headless, with nothing reaching out beyond the test's own servers. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A client's redirect URI: a tiny local server that records each callback's query. */
export function startCallbackServer(): Promise<{ server: Server; url: string; received: URLSearchParams[] }> {
  const received: URLSearchParams[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    // Browsers also ask for /favicon.ico; only the callback path counts.
    if (url.pathname === '/callback') received.push(url.searchParams);
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>callback</title><p>You may close this window.</p>');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/callback`, received });
    }),
  );
}
