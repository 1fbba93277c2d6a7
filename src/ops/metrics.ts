import type { FastifyPluginAsync } from 'fastify';

// PLACEHOLDER: replaced by its owner; exists so the app builds while surfaces are written in parallel.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const metricsPlugin: FastifyPluginAsync<any> = async () => undefined;
