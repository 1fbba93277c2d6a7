#!/usr/bin/env node
// Node 20's test runner takes no globs, so this lists test/**/*.test.ts and hands them over in one run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * The official MCP conformance suite and the Node 22 it needs are test tools, not part of Gatehouse: they live in
 * conformance/ with their own lock file and are installed here, once, instead of by every `npm install`.
 */
function ensureConformanceSuite() {
  const needed = ['conformance/node_modules/node/bin/node', 'conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js'];
  if (needed.every((file) => existsSync(file))) return;
  console.log('Installing the MCP conformance suite and its Node 22 into conformance/node_modules (tests only, once)...');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const install = spawnSync(npm, ['install', '--prefix', 'conformance', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (install.status !== 0) {
    console.error('Could not install the conformance suite (see npm output above).');
    process.exit(install.status ?? 1);
  }
}

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findTests(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

ensureConformanceSuite();
const only = process.argv.slice(2);
const files = only.length > 0 ? only : findTests('test').sort();
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(result.status ?? 1);
