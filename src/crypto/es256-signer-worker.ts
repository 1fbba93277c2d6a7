import { parentPort } from 'node:worker_threads';
import { seal } from './aead.js';
import { signEs256, signedText, type SignerAnswer, type SignerBatch } from './es256-signer.js';

/**
 * The signing worker of `workerSigner` (es256-signer.ts): signing keys arrive once per kid (a KeyObject is cloned
 * across threads) and sealing keys once per id, then batches of signing inputs, answered in one message each. A
 * request with a sealing gets, beside its signature, the text around its JWS sealed by crypto/aead.ts's `seal`.
 */
const signingKeys = new Map<string, SignerBatch['newKeys'][number]['key']>();
const sealingKeys = new Map<number, Buffer>();

parentPort!.on('message', ({ id, newKeys, newSealingKeys, kids, inputs, sealings }: SignerBatch) => {
  for (const { kid, key } of newKeys) signingKeys.set(kid, key);
  // A Uint8Array after the crossing: a Buffer over its own bytes.
  for (const { id: keyId, key } of newSealingKeys) sealingKeys.set(keyId, Buffer.from(key.buffer, key.byteOffset, key.byteLength));
  let answer: SignerAnswer;
  try {
    const signatures = inputs.map((input, i) => signEs256(signingKeys.get(kids[i]!)!, input));
    const sealed = sealings.map((sealing, i) =>
      sealing ? seal(sealingKeys.get(sealing.keyId)!, signedText(inputs[i]!, signatures[i]!, sealing), sealing.context) : null,
    );
    answer = { id, signatures, sealed };
  } catch (error) {
    answer = { id, error: String((error as Error)?.message ?? error) };
  }
  parentPort!.postMessage(answer);
});
