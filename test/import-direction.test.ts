import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

const SRC = join(import.meta.dirname, '..', 'src');

/** Every TypeScript file under src/, as a path relative to it. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

/** The wiring: what builds the runtime, hands it to the surfaces, or runs commands and jobs over it. */
const KNOWS_RUNTIME = /^(runtime|app|server|jobs)\.ts$|^cli\//;

describe('import direction (docs/architecture.md)', () => {
  it('only the wiring imports runtime.ts: every surface declares the services it uses', () => {
    const files = sourceFiles();
    assert.ok(files.includes('gateway/mcp-routes.ts'), 'src/ is read');
    const importing = files.filter((file) => /from '(\.\.?\/)+runtime\.js'/.test(readFileSync(join(SRC, file), 'utf8')));
    assert.deepEqual(importing.filter((file) => !KNOWS_RUNTIME.test(file)), []);
    assert.ok(importing.includes('app.ts'), 'app.ts hands the runtime to the surfaces');
  });
});
