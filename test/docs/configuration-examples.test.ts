import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { parseConfigUpstreams } from '../../src/upstream/upstream-service.js';
import { tempDir } from '../helpers/backends.js';

it('the YAML and JSON examples in docs/configuration.md load, agree, and declare valid upstreams', () => {
  const doc = readFileSync('docs/configuration.md', 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  const json = /```json\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(yaml && json, 'both examples are present');
  const { dir, remove } = tempDir();
  try {
    writeFileSync(path.join(dir, 'gatehouse.yaml'), yaml);
    writeFileSync(path.join(dir, 'gatehouse.json'), json);
    const fromYaml = loadConfig({ config: path.join(dir, 'gatehouse.yaml') }, {});
    const fromJson = loadConfig({ config: path.join(dir, 'gatehouse.json') }, {});
    assert.deepEqual({ ...fromYaml, configFile: undefined }, { ...fromJson, configFile: undefined });
    assert.equal(parseConfigUpstreams(fromYaml.upstreams).length, fromYaml.upstreams.length);
  } finally {
    remove();
  }
});
