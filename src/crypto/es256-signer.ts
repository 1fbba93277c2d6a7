import { sign, type KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Makes ES256 signatures (RFC 7518 §3.4: SHA-256, the raw 64-byte R || S), base64url-encoded. */
export interface Es256Signer {
  /** The signature of `signingInput` (latin1: a JWS signing input is ASCII) under `key`, named `kid` for reuse. */
  sign(kid: string, key: KeyObject, signingInput: string): Promise<string>;
  /** Stops the worker, if any; signatures asked for afterwards are refused. */
  close(): Promise<void>;
}

/**
 * node:crypto's `sign` with a callback: each signature one job on libuv's threadpool. For a signer without a thread
 * of its own (tests, tools); the server signs through `workerSigner`.
 */
export const threadpoolSigner: Es256Signer = {
  sign: (_kid, key, signingInput) =>
    new Promise((resolve, reject) => {
      sign('sha256', Buffer.from(signingInput, 'latin1'), { key, dsaEncoding: 'ieee-p1363' }, (error, signature) => {
        if (error) reject(error);
        else resolve(signature.toString('base64url'));
      });
    }),
  close: async () => undefined,
};

/**
 * The worker's side: keys arrive once per kid (a KeyObject is cloned across threads), then batches of signing inputs,
 * answered in one message each. CommonJS run with `eval`, so the same code serves the build and the tests (tsx).
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { sign } = require('node:crypto');
const keys = new Map();
parentPort.on('message', ({ id, newKeys, kids, inputs }) => {
  for (const { kid, key } of newKeys) keys.set(kid, key);
  try {
    const signatures = inputs.map((input, i) => sign('sha256', Buffer.from(input, 'latin1'), { key: keys.get(kids[i]), dsaEncoding: 'ieee-p1363' }).toString('base64url'));
    parentPort.postMessage({ id, signatures });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message || error) });
  }
});
`;

interface Pending {
  kid: string;
  key: KeyObject;
  input: string;
  resolve(signature: string): void;
  reject(error: Error): void;
}

interface Answer {
  id: number;
  signatures?: string[];
  error?: string;
}

/**
 * ES256 signatures on a worker thread of this signer's own, the ones asked for in one turn of the event loop sent
 * together in one message and answered in one. The main thread then pays one message each way per turn, where
 * node:crypto's asynchronous `sign` costs it a threadpool job, a wake-up and a callback per signature (about 10 µs
 * against 3 in a micro-benchmark: bench/README.md). The worker starts on the first signature, holds the process
 * open only while signatures are pending, and is replaced if it fails (what it was signing is refused).
 */
export function workerSigner(): Es256Signer {
  let worker: { thread: Worker; kids: Set<string> } | undefined;
  let queued: Pending[] = [];
  const inFlight = new Map<number, Pending[]>();
  let nextId = 0;
  let closed = false;

  const failAll = (error: Error) => {
    for (const batch of inFlight.values()) for (const pending of batch) pending.reject(error);
    inFlight.clear();
  };
  const started = () => {
    if (worker) return worker;
    // No flags of the process's own (a loader, --input-type=module): the source is plain CommonJS.
    const thread = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    thread.unref();
    thread.on('message', (answer: Answer) => {
      const batch = inFlight.get(answer.id);
      inFlight.delete(answer.id);
      if (inFlight.size === 0) thread.unref();
      if (!batch) return;
      if (answer.signatures) batch.forEach((pending, i) => pending.resolve(answer.signatures![i]!));
      else batch.forEach((pending) => pending.reject(new Error(`signing failed: ${answer.error}`)));
    });
    const lost = (error: Error) => {
      if (worker?.thread === thread) worker = undefined;
      failAll(error);
    };
    thread.on('error', lost);
    thread.on('exit', (code) => lost(new Error(`the signing worker exited (${code})`)));
    return (worker = { thread, kids: new Set() });
  };
  const flush = () => {
    const batch = queued;
    queued = [];
    if (batch.length === 0) return;
    const { thread, kids } = started();
    const newKeys: Array<{ kid: string; key: KeyObject }> = [];
    for (const { kid, key } of batch) {
      if (kids.has(kid)) continue;
      kids.add(kid);
      newKeys.push({ kid, key });
    }
    const id = nextId++;
    inFlight.set(id, batch);
    thread.ref();
    thread.postMessage({ id, newKeys, kids: batch.map((pending) => pending.kid), inputs: batch.map((pending) => pending.input) });
  };

  return {
    sign(kid, key, input) {
      if (closed) return Promise.reject(new Error('the signer is closed'));
      return new Promise((resolve, reject) => {
        if (queued.length === 0) setImmediate(flush);
        queued.push({ kid, key, input, resolve, reject });
      });
    },
    async close() {
      closed = true;
      const thread = worker?.thread;
      worker = undefined;
      if (thread) await thread.terminate();
      failAll(new Error('the signer is closed'));
      for (const pending of queued.splice(0)) pending.reject(new Error('the signer is closed'));
    },
  };
}
