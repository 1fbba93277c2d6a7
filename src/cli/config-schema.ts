import { Command } from 'commander';
import { z } from 'zod';
import { settingsSchema } from '../config-settings.js';
import { upstreamInput } from '../upstream/settings.js';

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown> };

const asInput = (schema: z.ZodType): JsonSchema =>
  // Coerced numbers and yes/no strings are accepted as written in a file, so the schema describes the input side.
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;

/**
 * The JSON Schema of the config file, generated from the same zod schemas that validate it (the settings, and
 * each upstream entry as `POST /api/mcp/client` takes it), so editors can check a file before Gatehouse does.
 */
export function configFileJsonSchema(): JsonSchema {
  const schema = asInput(settingsSchema);
  const { $schema: _nested, ...upstream } = asInput(upstreamInput);
  return {
    $schema: schema.$schema,
    title: 'Gatehouse config file',
    description: 'Settings for gatehouse serve --config (JSON or YAML); see docs/configuration.md',
    ...schema,
    properties: { ...schema.properties, upstreams: { type: 'array', items: upstream, default: [] } },
  };
}

export function configSchemaCommand(): Command {
  return new Command('config-schema')
    .description('print the JSON Schema of the config file (also in docs/config.schema.json)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(configFileJsonSchema(), null, 2)}\n`);
    });
}
