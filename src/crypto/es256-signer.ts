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
 * Signatures per message. A message leaves as soon as it is full, not only at the end of the turn: the worker starts
 * signing while the main thread is still reading the turn's requests, and its first answers come back while it signs
 * the rest, so the main thread rotates those meanwhile. One message per turn left each thread idle while the other
 * worked (bench/README.md: 8 or 4 a message against a whole turn's).
 */
export const SIGNATURES_PER_MESSAGE = 8;

const SIGN_OPTIONS = { dsaEncoding: 'ieee-p1363' } as const;

/** One signature, synchronously (the worker's). */
export function signEs256(key: KeyObject, signingInput: string): string {
  return sign('sha256', Buffer.from(signingInput, 'latin1'), { key, ...SIGN_OPTIONS }).toString('base64url');
}

/**
 * node:crypto's `sign` with a callback: each signature one job on libuv's threadpool. For a signer without a thread
 * of its own (tests, tools); the server signs through `workerSigner`.
 */
export const threadpoolSigner: Es256Signer = {
  sign: (_kid, key, signingInput) =>
    new Promise((resolve, reject) => {
      sign('sha256', Buffer.from(signingInput, 'latin1'), { key, ...SIGN_OPTIONS }, (error, signature) => {
        if (error) reject(error);
        else resolve(signature.toString('base64url'));
      });
    }),
  close: async () => undefined,
};

/** One message to the worker (es256-signer-worker.ts): the keys it has not seen yet, then one request per index (at most `SIGNATURES_PER_MESSAGE`). */
export interface SignerBatch {
  id: number;
  newKeys: Array<{ kid: string; key: KeyObject }>;
  kids: string[];
  inputs: string[];
}

export type SignerAnswer = { id: number; signatures: string[] } | { id: number; error: string };

/**
 * The worker's module beside this one: the build's `.js`; or, when this module runs as TypeScript under tsx (tests,
 * scripts), the `.ts` source, with tsx registered in the worker first (Node 20 does not run `--import tsx` there).
 * No flags of the process's own (a loader, --input-type=module).
 */
export function startSigningWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./es256-signer-worker.js', import.meta.url), { execArgv: [] });
  const source = new URL('./es256-signer-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { eval: true, execArgv: [] });
}

interface Pending {
  kid: string;
  key: KeyObject;
  input: string;
  /** Set once a worker was lost while holding it: it is sent once more, not again after that. */
  resent?: boolean;
  resolve(signature: string): void;
  reject(error: Error): void;
}

/** Starts the signing thread; a test may give one of its own. */
export interface WorkerSignerOptions {
  startWorker?: () => Worker;
}

/**
 * ES256 signatures on a worker thread of this signer's own, the ones asked for in one turn of the event loop sent
 * together, up to `SIGNATURES_PER_MESSAGE` a message each way. The main thread then pays a message per few signatures, where
 * node:crypto's asynchronous `sign` costs it a threadpool job, a wake-up and a callback per signature (about 10 µs
 * against 3 in a micro-benchmark: bench/README.md). The worker starts on the first signature and holds the process
 * open only while signatures are pending. A failure is its own request's: a message the worker could not sign is sent again one
 * request at a time, and what a lost worker held goes once more to its replacement (signing has no side effects).
 */
export function workerSigner(options: WorkerSignerOptions = {}): Es256Signer {
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
    const thread = (options.startWorker ?? startSigningWorker)();
    thread.unref();
    thread.on('message', (answer: SignerAnswer) => {
      const batch = inFlight.get(answer.id);
      inFlight.delete(answer.id);
      if (inFlight.size === 0) thread.unref();
      if (!batch) return;
      if ('signatures' in answer) batch.forEach((pending, i) => pending.resolve(answer.signatures[i]!));
      else if (batch.length > 1) for (const pending of batch) send([pending]);
      else batch[0]!.reject(new Error(`signing failed: ${answer.error}`));
    });
    const lost = (error: Error) => {
      if (worker?.thread !== thread) return;
      worker = undefined;
      const held = [...inFlight.values()].flat();
      inFlight.clear();
      for (const pending of held) {
        if (pending.resent || closed) {
          pending.reject(error);
        } else {
          pending.resent = true;
          enqueue(pending);
        }
      }
    };
    thread.on('error', lost);
    thread.on('exit', (code) => lost(new Error(`the signing worker exited (${code})`)));
    return (worker = { thread, kids: new Set() });
  };
  const send = (batch: Pending[]) => {
    const { thread, kids } = started();
    const message: SignerBatch = { id: nextId++, newKeys: [], kids: [], inputs: [] };
    for (const { kid, key, input } of batch) {
      if (!kids.has(kid)) {
        kids.add(kid);
        message.newKeys.push({ kid, key });
      }
      message.kids.push(kid);
      message.inputs.push(input);
    }
    inFlight.set(message.id, batch);
    thread.ref();
    thread.postMessage(message);
  };
  const flush = () => {
    const batch = queued;
    queued = [];
    if (batch.length > 0) send(batch);
  };
  const enqueue = (pending: Pending) => {
    if (queued.length === 0) setImmediate(flush);
    queued.push(pending);
    if (queued.length >= SIGNATURES_PER_MESSAGE) flush();
  };
  return {
    sign: (kid, key, input) => {
      if (closed) return Promise.reject(new Error('the signer is closed'));
      return new Promise<string>((resolve, reject) => enqueue({ kid, key, input, resolve, reject }));
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
