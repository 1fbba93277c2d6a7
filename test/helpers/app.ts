import type { FastifyInstance } from 'fastify';
import { createServer } from 'node:net';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config, type ConfigFlags } from '../../src/config.js';
import type { Clock } from '../../src/clock.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { backendPlace, type Backend } from './backends.js';

export const TEST_ADMIN_PASSWORD = 'test-Admin-pw-1';

export interface TestApp {
  app: FastifyInstance;
  runtime: Runtime;
  config: Config;
  /** Set when started with `listen: true`. */
  url?: string;
  close(): Promise<void>;
}

/**
 * A Gatehouse app on a fresh database of the given backend, with user `admin` / TEST_ADMIN_PASSWORD.
 * Requests go through `app.inject` unless `listen` is set (needed for browsers and real HTTP clients). A `clock`
 * (helpers/clock.ts) lets the test move time past an expiry.
 */
export async function startTestApp(
  options: { backend?: Backend; flags?: ConfigFlags; env?: NodeJS.ProcessEnv; listen?: boolean; logger?: pino.Logger; clock?: Clock } = {},
): Promise<TestApp> {
  const place = await backendPlace(options.backend ?? 'sqlite');
  // A listening app gets its port up front so the default public URL (the issuer, the expected Origin) is the real one.
  const port = options.listen ? await freePort() : 0;
  const config = loadConfig(
    { dataDir: place.dataDir, databaseUrl: place.databaseUrl, port, ...options.flags },
    { GATEHOUSE_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD, ...options.env },
  );
  const runtime = await openRuntime(config, { clock: options.clock });
  await runtime.users.ensureInitialAdmin(config.adminPassword);
  const app = await buildApp(runtime, options.logger ?? pino({ level: 'silent' }));
  let url: string | undefined;
  if (options.listen) {
    await app.listen({ host: '127.0.0.1', port: config.port });
    const address = app.server.address();
    if (address && typeof address === 'object') url = `http://127.0.0.1:${address.port}`;
  } else {
    await app.ready();
  }
  return {
    app,
    runtime,
    config,
    url,
    async close() {
      await app.close();
      await runtime.close();
      await place.cleanup();
    },
  };
}

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Signs in through the password form and answers the session cookie, ready for `inject({ cookies })`. */
export async function signInCookies(t: TestApp, username: string, password: string): Promise<Record<string, string>> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ username, password }).toString(),
  });
  if (res.statusCode !== 303) throw new Error(`sign-in answered ${res.statusCode}: ${res.body}`);
  const cookie = res.cookies.find((c) => c.name.endsWith('gatehouse_session'));
  if (!cookie) throw new Error('sign-in set no session cookie');
  return { [cookie.name]: cookie.value };
}
