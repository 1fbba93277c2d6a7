import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { configFileJsonSchema } from '../../src/cli/config-schema.js';
import { runCli } from './run-cli.js';

const published = JSON.parse(readFileSync('docs/config.schema.json', 'utf8')) as Record<string, unknown>;

it('docs/config.schema.json is the schema generated from the config code (regenerate: gatehouse config-schema > docs/config.schema.json)', async () => {
  assert.deepEqual(published, configFileJsonSchema());
  const printed = await runCli(['config-schema']);
  assert.equal(printed.code, 0, printed.stderr);
  assert.deepEqual(JSON.parse(printed.stdout), published);
});

it('the schema accepts the documented example config files and refuses the mistakes loadConfig refuses', () => {
  const validate = new Ajv2020({ strict: false }).compile(published);
  const doc = readFileSync('docs/configuration.md', 'utf8');
  const yaml = parseYaml(/```yaml\n([\s\S]*?)```/.exec(doc)![1]!) as unknown;
  const json = JSON.parse(/```json\n([\s\S]*?)```/.exec(doc)![1]!) as unknown;
  assert.equal(validate(yaml), true, JSON.stringify(validate.errors));
  assert.equal(validate(json), true, JSON.stringify(validate.errors));
  for (const wrong of [{ prot: 8080 }, { port: 70000 }, { oauth: { registrationPolicy: 'sometimes' } }, { upstreams: [{ name: 'Bad_Name', connection_type: 'http' }] }]) {
    assert.equal(validate(wrong), false, JSON.stringify(wrong));
  }
});
