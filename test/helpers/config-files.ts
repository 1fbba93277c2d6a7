import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './backends.js';

/** A config file (in a temp dir, removed by `remove`) naming one HTTP upstream `name` at `url`. */
export function httpUpstreamConfig(url: string, name = 'up'): { file: string; remove(): void } {
  return httpUpstreamsConfig({ [name]: url });
}

/** A config file (in a temp dir, removed by `remove`) naming an HTTP upstream for each name → URL of `urls`. */
export function httpUpstreamsConfig(urls: Record<string, string>): { file: string; remove(): void } {
  const dir = tempDir('gatehouse-config-');
  const file = path.join(dir.dir, 'gatehouse.json');
  const upstreams = Object.entries(urls).map(([name, url]) => ({ name, connection_type: 'http', connection_string: url }));
  writeFileSync(file, JSON.stringify({ upstreams }));
  return { file, remove: () => dir.remove() };
}
