import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';

const DEPLOYMENT_FILES = ['docs/deployment.md', 'Dockerfile', 'deploy/gatehouse.service'];

it('every GATEHOUSE_* variable the deployment docs, Dockerfile and systemd unit name is documented in docs/configuration.md', () => {
  const configuration = readFileSync('docs/configuration.md', 'utf8');
  const documented = new Set(configuration.match(/GATEHOUSE_[A-Z_]+/g));
  for (const file of DEPLOYMENT_FILES) {
    const named = new Set(readFileSync(file, 'utf8').match(/GATEHOUSE_[A-Z_]+/g));
    assert.ok(named.size > 0, `${file} names settings`);
    for (const name of named) assert.ok(documented.has(name), `${file} names ${name}, which docs/configuration.md does not document`);
  }
});

it('the Dockerfile and the systemd unit run what npm start runs (with V8\'s memory reducer off), and the container runs as a non-root user with a health check', () => {
  const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start;
  assert.equal(start, 'node --no-memory-reducer dist/cli.js serve');
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  assert.match(dockerfile, /^CMD \["node", "--no-memory-reducer", "dist\/cli\.js", "serve"\]$/m);
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /^HEALTHCHECK .*\/health/m);
  assert.match(readFileSync('deploy/gatehouse.service', 'utf8'), /^ExecStart=\/usr\/bin\/node --no-memory-reducer \/opt\/gatehouse\/dist\/cli\.js serve$/m);
});
