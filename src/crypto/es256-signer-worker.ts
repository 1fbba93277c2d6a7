import { parentPort } from 'node:worker_threads';
import { signEs256, type SignerAnswer, type SignerBatch } from './es256-signer.js';

/**
 * The signing worker of `workerSigner` (es256-signer.ts): signing keys arrive once per kid (a KeyObject is cloned
 * across threads), then batches of signing inputs, answered in one message each.
 */
const signingKeys = new Map<string, SignerBatch['newKeys'][number]['key']>();

parentPort!.on('message', ({ id, newKeys, kids, inputs }: SignerBatch) => {
  for (const { kid, key } of newKeys) signingKeys.set(kid, key);
  let answer: SignerAnswer;
  try {
    answer = { id, signatures: inputs.map((input, i) => signEs256(signingKeys.get(kids[i]!)!, input)) };
  } catch (error) {
    answer = { id, error: String((error as Error)?.message ?? error) };
  }
  parentPort!.postMessage(answer);
});
