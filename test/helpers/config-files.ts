import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './backends.js';

/** A config file (in a temp dir, removed by `remove`) naming one HTTP upstream `name` at `url`. */
export function httpUpstreamConfig(url: string, name = 'up'): { file: string; remove(): void } {
  return upstreamsConfig([{ name, connection_type: 'http', connection_string: url }]);
}

/** A config file (in a temp dir, removed by `remove`) with the given upstream entries, as the config file spells them. */
export function upstreamsConfig(upstreams: Array<Record<string, unknown>>): { file: string; remove(): void } {
  const dir = tempDir('gatehouse-config-');
  const file = path.join(dir.dir, 'gatehouse.json');
  writeFileSync(file, JSON.stringify({ upstreams }));
  return { file, remove: () => dir.remove() };
}
