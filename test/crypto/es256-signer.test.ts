import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSecretKey, generateKeyPairSync, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { startSigningWorker, workerSigner } from '../../src/crypto/es256-signer.js';

const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const verifies = (input: string, signature: string, publicKey: ReturnType<typeof keyPair>['publicKey']) =>
  verify('sha256', Buffer.from(input, 'latin1'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));

describe('workerSigner', () => {
  it('signs what one turn asks for together, under each request\'s own key, each answer to its own request', async () => {
    const signer = workerSigner();
    try {
      const [a, b] = [keyPair(), keyPair()];
      const inputs = Array.from({ length: 40 }, (_, i) => `header.payload-${i}`);
      const signatures = await Promise.all(inputs.map((input, i) => signer.sign(i % 2 ? 'b' : 'a', (i % 2 ? b : a).privateKey, input)));
      signatures.forEach((signature, i) => {
        assert.equal(Buffer.from(signature, 'base64url').length, 64);
        assert.ok(verifies(inputs[i]!, signature, (i % 2 ? b : a).publicKey), `signature ${i}`);
        assert.ok(!verifies(inputs[i]!, signature, (i % 2 ? a : b).publicKey));
      });
      // A later turn: the keys are already with the worker.
      assert.ok(verifies('again', await signer.sign('a', a.privateKey, 'again'), a.publicKey));
    } finally {
      await signer.close();
    }
  });

  it('a request the worker cannot sign fails alone: the others of its message are signed', async () => {
    const signer = workerSigner();
    try {
      const ec = keyPair();
      // A secret key signs nothing: the worker's sign throws for that request, in a message with others.
      const results = await Promise.allSettled([
        signer.sign('ec', ec.privateKey, 'x'),
        signer.sign('secret', createSecretKey(Buffer.alloc(32)), 'y'),
        signer.sign('ec', ec.privateKey, 'w'),
      ]);
      assert.deepEqual(results.map((result) => result.status), ['fulfilled', 'rejected', 'fulfilled']);
      assert.match(String((results[1] as PromiseRejectedResult).reason), /signing failed/);
      assert.ok(verifies('x', (results[0] as PromiseFulfilledResult<string>).value, ec.publicKey));
      assert.ok(verifies('z', await signer.sign('ec', ec.privateKey, 'z'), ec.publicKey));
    } finally {
      await signer.close();
    }
  });

  /** A worker that exits (as a crash would) on its first message, before answering it. */
  const dyingWorker = () => new Worker("require('node:worker_threads').parentPort.once('message', () => process.exit(3));", { eval: true });

  it('what a lost worker was signing is signed by its replacement', async () => {
    let starts = 0;
    const signer = workerSigner({ startWorker: () => (starts++ === 0 ? dyingWorker() : startSigningWorker()) });
    try {
      const ec = keyPair();
      const inputs = ['a', 'b', 'c'];
      const signatures = await Promise.all(inputs.map((input) => signer.sign('ec', ec.privateKey, input)));
      signatures.forEach((signature, i) => assert.ok(verifies(inputs[i]!, signature, ec.publicKey)));
      assert.equal(starts, 2);
    } finally {
      await signer.close();
    }
  });

  it('a request whose worker is lost twice is refused, and the next one starts a worker again', async () => {
    let starts = 0;
    const signer = workerSigner({ startWorker: () => (starts++ < 2 ? dyingWorker() : startSigningWorker()) });
    try {
      const ec = keyPair();
      await assert.rejects(signer.sign('ec', ec.privateKey, 'x'), /the signing worker exited \(3\)/);
      assert.ok(verifies('y', await signer.sign('ec', ec.privateKey, 'y'), ec.publicKey));
      assert.equal(starts, 3);
    } finally {
      await signer.close();
    }
  });

  it('refuses signatures once closed', async () => {
    const signer = workerSigner();
    await signer.sign('k', keyPair().privateKey, 'x');
    await signer.close();
    await assert.rejects(signer.sign('k', keyPair().privateKey, 'x'), /closed/);
  });

  it('does not hold an otherwise finished process open, and holds it until a pending signature is answered', () => {
    const signerModule = fileURLToPath(new URL('../../src/crypto/es256-signer.ts', import.meta.url));
    const script = `
      import { generateKeyPairSync } from 'node:crypto';
      import { workerSigner } from ${JSON.stringify(signerModule)};
      const signer = workerSigner();
      signer.sign('k', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'x').then((signature) => console.log(signature.length));
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), '86', 'the signature came back before the process ended');
  });
});
