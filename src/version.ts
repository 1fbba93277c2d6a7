import { readFileSync } from 'node:fs';

/**
 * The package's version, the one source for `gatehouse --version`, `/health`, the OpenAPI document and the
 * MCP server and client info. Read from package.json, one level up from both src/ and dist/.
 */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
