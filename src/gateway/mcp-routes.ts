import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../runtime.js';

// PLACEHOLDER: replaced by its owner; exists so the app builds while surfaces are written in parallel.
export const gatewayRoutes: FastifyPluginAsync<{ runtime: Runtime }> = async () => undefined;
