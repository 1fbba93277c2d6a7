import type { FastifyPluginAsync } from 'fastify';
import { apiKeyPaths } from './openapi-api-keys.js';
import { auditPaths } from './openapi-audit.js';
import { browserPaths } from './openapi-browser.js';
import { components } from './openapi-components.js';
import { mePaths } from './openapi-me.js';
import { mcpClientPaths } from './openapi-mcp-clients.js';
import { oauthClientPaths } from './openapi-oauth-clients.js';
import { grantPaths } from './openapi-oauth-grants.js';
import { registrationPaths } from './openapi-oauth-registration.js';
import { operationPaths } from './openapi-operations.js';
import { serviceAccountPaths } from './openapi-service-accounts.js';
import { virtualServerPaths } from './openapi-virtual-servers.js';
import { userPaths } from './openapi-users.js';
import { VERSION } from '../version.js';
import type { OpenApiDocument } from './openapi-parts.js';

export type { OpenApiDocument } from './openapi-parts.js';

export function openApiDocument(version: string): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse',
      version,
      description: 'Management API (/api) and operational endpoints of Gatehouse, an MCP gateway that is its own OAuth 2.1 authorization server.',
    },
    paths: {
      ...auditPaths,
      ...mcpClientPaths,
      ...serviceAccountPaths,
      ...virtualServerPaths,
      ...userPaths,
      ...apiKeyPaths,
      ...grantPaths,
      ...mePaths,
      ...oauthClientPaths,
      ...registrationPaths,
      ...operationPaths,
      ...browserPaths,
    },
    components,
  };
}

/** `GET /openapi.json`, without credentials: describing the API reveals nothing a client may not know. */
export const openApiRoute: FastifyPluginAsync = async (app) => {
  const document = openApiDocument(VERSION);
  app.get('/openapi.json', async () => document);
};
