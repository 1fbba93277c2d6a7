import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { open } from '../../src/crypto/aead.js';
import { deriveKeyRing, KEY_CHECK_META, KeyError, loadMasterKey, MASTER_KEY_FILE, verifyKeyMatchesDatabase } from '../../src/crypto/key-ring.js';
import { backends, openTestStore, tempDir } from '../helpers/backends.js';

function withTempDir(test: (dir: string) => void): () => void {
  return () => {
    const temp = tempDir();
    try {
      test(path.join(temp.dir, 'data'));
    } finally {
      temp.remove();
    }
  };
}

describe('master key', () => {
  it(
    'is generated on first start into a 0600 file in the data dir and reused on the next start',
    withTempDir((dataDir) => {
      const first = loadMasterKey({ dataDir, create: true });
      const file = path.join(dataDir, MASTER_KEY_FILE);
      assert.equal(first.source, file);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(first.key.length, 32);
      const second = loadMasterKey({ dataDir, create: true });
      assert.ok(second.key.equals(first.key));
    }),
  );

  it(
    'is not created when creation is off, with a message saying how to get one',
    withTempDir((dataDir) => {
      assert.throws(() => loadMasterKey({ dataDir, create: false }), (error: Error) => error instanceof KeyError && /GATEHOUSE_SECRET_KEY/.test(error.message));
    }),
  );

  it(
    'refuses a key file other users can read, naming the chmod that fixes it',
    withTempDir((dataDir) => {
      loadMasterKey({ dataDir, create: true });
      const file = path.join(dataDir, MASTER_KEY_FILE);
      chmodSync(file, 0o644);
      assert.throws(() => loadMasterKey({ dataDir, create: true }), (error: Error) => error instanceof KeyError && error.message.includes(`chmod 600 ${file}`));
    }),
  );

  it(
    'refuses a key file that does not hold 32 bytes',
    withTempDir((dataDir) => {
      loadMasterKey({ dataDir, create: true });
      const file = path.join(dataDir, MASTER_KEY_FILE);
      writeFileSync(file, 'too-short\n');
      assert.throws(() => loadMasterKey({ dataDir, create: true }), KeyError);
    }),
  );

  it(
    'GATEHOUSE_SECRET_KEY is accepted as 64 hex digits or as base64url, and the data dir key file is not touched',
    withTempDir((dataDir) => {
      const raw = randomBytes(32);
      const fromHex = loadMasterKey({ secretKey: raw.toString('hex'), dataDir, create: true });
      const fromBase64url = loadMasterKey({ secretKey: raw.toString('base64url'), dataDir, create: true });
      assert.ok(fromHex.key.equals(raw));
      assert.ok(fromBase64url.key.equals(raw));
      assert.equal(fromHex.source, 'GATEHOUSE_SECRET_KEY');
      assert.throws(() => statSync(path.join(dataDir, MASTER_KEY_FILE)));
    }),
  );

  it(
    'GATEHOUSE_SECRET_KEY of the wrong length is refused with the command that makes a good one',
    withTempDir((dataDir) => {
      for (const bad of [randomBytes(16).toString('hex'), randomBytes(31).toString('base64url'), randomBytes(33).toString('base64url')]) {
        assert.throws(
          () => loadMasterKey({ secretKey: bad, dataDir, create: true }),
          (error: Error) => error instanceof KeyError && /GATEHOUSE_SECRET_KEY/.test(error.message) && /openssl rand -hex 32/.test(error.message) && !error.message.includes(bad),
        );
      }
    }),
  );
});

describe('key ring', () => {
  it('derives separate keys per purpose, the same ones from the same master key', () => {
    const master = randomBytes(32);
    const ring = deriveKeyRing(master);
    const again = deriveKeyRing(master);
    const keys = [ring.encryptionKey, ring.cookieKey, ring.refreshReplayKey, master].map((k) => k.toString('hex'));
    assert.equal(new Set(keys).size, 4);
    assert.ok(ring.encryptionKey.equals(again.encryptionKey));
    assert.ok(ring.refreshReplayKey.equals(again.refreshReplayKey));
    assert.equal(ring.tokenHasher.hash('t'), again.tokenHasher.hash('t'));
    assert.equal(ring.fingerprint, again.fingerprint);
    assert.notEqual(deriveKeyRing(randomBytes(32)).tokenHasher.hash('t'), ring.tokenHasher.hash('t'));
    assert.ok(!master.toString('hex').includes(ring.fingerprint));
  });
});

for (const backend of backends) {
  describe(`key check against the database on ${backend}`, () => {
    it('passes with the key the database was created with and stops another key with a clear message', async () => {
      const store = await openTestStore(backend);
      try {
        const ring = deriveKeyRing(randomBytes(32));
        await verifyKeyMatchesDatabase(ring, store.meta, 'test key');
        await verifyKeyMatchesDatabase(ring, store.meta, 'test key');
        assert.equal(open(ring.encryptionKey, (await store.meta.get(KEY_CHECK_META))!, KEY_CHECK_META), 'gatehouse key check');

        const other = deriveKeyRing(randomBytes(32));
        await assert.rejects(verifyKeyMatchesDatabase(other, store.meta, 'GATEHOUSE_SECRET_KEY'), (error: Error) => {
          assert.ok(error instanceof KeyError);
          assert.match(error.message, /GATEHOUSE_SECRET_KEY/);
          assert.match(error.message, /not the key this database was created with/);
          assert.ok(error.message.includes(other.fingerprint));
          return true;
        });
      } finally {
        await store.close();
      }
    });
  });
}

describe('master key creation race', () => {
  it('two processes creating the key file at once end up with the same key', async () => {
    const { dir, remove } = tempDir();
    try {
      const { spawn } = await import('node:child_process');
      const script = `import('./src/crypto/key-ring.ts').then((m) => process.stdout.write(m.loadMasterKey({ dataDir: ${JSON.stringify(dir)}, create: true }).key.toString('hex')))`;
      const run = () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.on('data', (chunk) => (out += chunk));
          child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
        });
      const [a, b] = await Promise.all([run(), run()]);
      assert.equal(a.length, 64);
      assert.equal(a, b);
      assert.deepEqual(readdirSync(dir), ['secret.key']);
    } finally {
      remove();
    }
  });
});
