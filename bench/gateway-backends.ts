import { createApiKey, openSession } from './mcp-http.js';
import { mintAccessToken, prepareClient } from './oauth-fixtures.js';
import { shareOf } from './postgres-database.js';
import type { BenchServer } from './servers.js';

/**
 * The gateway routes of `npm run bench:gateway`: each backend's gateway (SQLite, and PostgreSQL beside it) called
 * with each credential type (an API key, an OAuth access token), every route on its own MCP session.
 */

export type Credential = 'API key' | 'OAuth token';
export const CREDENTIALS: readonly Credential[] = ['API key', 'OAuth token'];

export interface GatewayRoute {
  name: string;
  backend: string;
  credential: Credential;
  url: string;
  session: Record<string, string>;
  pid: number;
}

/** The bearer header of one credential of the gateway's admin. */
async function bearerOf(gatehouse: BenchServer, credential: Credential): Promise<Record<string, string>> {
  const token = credential === 'API key' ? await createApiKey(gatehouse) : await mintAccessToken(await prepareClient(gatehouse.url));
  return { authorization: `Bearer ${token}` };
}

export async function gatewayRoutes(gateways: Array<{ backend: string; gatehouse: BenchServer }>): Promise<GatewayRoute[]> {
  const routes: GatewayRoute[] = [];
  for (const { backend, gatehouse } of gateways) {
    for (const credential of CREDENTIALS) {
      const url = `${gatehouse.url}/mcp`;
      routes.push({ name: `gateway ${backend}, ${credential}`, backend, credential, url, session: await openSession(url, await bearerOf(gatehouse, credential)), pid: gatehouse.pid! });
    }
  }
  return routes;
}

/** PostgreSQL's rate as a share of SQLite's, per credential type, against the target. */
export function backendShares(rates: Array<{ route: GatewayRoute; perSecond: number }>, target: number): string[] {
  return CREDENTIALS.flatMap((credential) => {
    const rateOf = (backend: string) => rates.find(({ route }) => route.backend === backend && route.credential === credential)?.perSecond;
    const sqlite = rateOf('SQLite');
    const postgres = rateOf('PostgreSQL');
    if (sqlite === undefined || postgres === undefined) return [];
    return [`tools/call with an ${credential} on PostgreSQL: ${shareOf(postgres, sqlite)} of the SQLite rate (target >= ${target * 100}%): ${postgres / sqlite >= target ? 'met' : 'NOT met'}`];
  });
}
