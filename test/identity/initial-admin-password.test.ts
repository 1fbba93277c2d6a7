import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { announceInitialAdminPassword, forgetInitialAdminPassword } from '../../src/identity/initial-admin-password.js';
import { tempDir } from '../helpers/backends.js';

function recorder(isTTY: boolean) {
  const written: string[] = [];
  const logged: { object: object; message: string }[] = [];
  return {
    written,
    logged,
    terminal: { isTTY, write: (text: string) => written.push(text) },
    log: { info: (object: object, message: string) => logged.push({ object, message }) },
  };
}

describe('the initial admin password', () => {
  const temp = tempDir();
  after(() => temp.remove());

  it('on a terminal is shown there and written to no file', () => {
    const dataDir = path.join(temp.dir, 'tty');
    const out = recorder(true);
    announceInitialAdminPassword('pw-on-terminal', { terminal: out.terminal, dataDir, log: out.log });
    assert.match(out.written.join(''), /Created user admin with password pw-on-terminal/);
    assert.equal(existsSync(path.join(dataDir, 'initial-admin-password')), false);
    assert.deepEqual(out.logged, []);
  });

  it('without a terminal goes to a file only its owner can read, replacing a left-over one, and the log names the file, not the password', () => {
    const dataDir = path.join(temp.dir, 'pipe');
    const file = path.join(dataDir, 'initial-admin-password');
    announceInitialAdminPassword('first', { ...recorder(false), dataDir });
    writeFileSync(file, 'stale\n', { mode: 0o644 });
    const out = recorder(false);
    announceInitialAdminPassword('pw-in-file', { terminal: out.terminal, dataDir, log: out.log });
    assert.equal(readFileSync(file, 'utf8'), 'pw-in-file\n');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(out.written, []);
    assert.equal(out.logged.length, 1);
    assert.deepEqual(out.logged[0]!.object, { file });
    assert.equal(JSON.stringify(out.logged).includes('pw-in-file'), false);
    forgetInitialAdminPassword(dataDir);
    assert.equal(existsSync(file), false);
    forgetInitialAdminPassword(dataDir);
  });
});
