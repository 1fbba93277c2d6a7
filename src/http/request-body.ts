import type { IncomingMessage } from 'node:http';

/** Fastify's default body limit, for a Fastify built without one. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * A request's body, read as Fastify's content-type parsers read it (fastify/lib/content-type-parser.js `rawBody`):
 * 413 when Content-Length announces more than `limit` bytes, or as soon as more than `limit` arrive (whatever
 * Content-Length said); 400 when the body ends at another length than announced, or the client goes before its end.
 * Either refusal means the rest of the body may still be coming: the answer should close the connection.
 */
export type RequestBody = { ok: true; text: string } | { ok: false; status: 400 | 413 };

/** What a reader answers its two refusals with (413, 400): RequestBody's own, or a caller's (an answer made once, not mapped per request). */
export interface BodyRefusals<R> {
  tooLarge: R;
  cutShort: R;
}

export function readRequestBody(request: IncomingMessage, limit: number): Promise<RequestBody> | RequestBody;
export function readRequestBody<R>(request: IncomingMessage, limit: number, refusals: BodyRefusals<R>): Promise<{ ok: true; text: string } | R> | { ok: true; text: string } | R;
export function readRequestBody<R>(
  request: IncomingMessage,
  limit: number,
  refusals: BodyRefusals<R | RequestBody> = REFUSALS,
): Promise<{ ok: true; text: string } | R | RequestBody> | { ok: true; text: string } | R | RequestBody {
  const { tooLarge, cutShort } = refusals;
  const declared = Number(request.headers['content-length']);
  if (declared > limit) return tooLarge;
  // A client gone already (while an earlier step awaited): its request emits nothing more, so listening would wait for ever.
  if (request.destroyed) return cutShort;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    // The listeners stay on the request, doing nothing once settled ('close' always comes after 'end'): removing
    // four listeners on every request costs more than leaving them on a request that is done with.
    let settled = false;
    const done = (outcome: { ok: true; text: string } | R | RequestBody) => {
      if (settled) return;
      settled = true;
      // Not kept by the listeners left on the request (a refused body's rest may still arrive; read ones are text now).
      chunks.length = 0;
      resolve(outcome);
    };
    const onData = (chunk: Buffer) => {
      if (settled) return;
      received += chunk.length;
      if (received > limit) return done(tooLarge);
      chunks.push(chunk);
    };
    const onEnd = () => {
      if (settled) return;
      if (!Number.isNaN(declared) && received !== declared) return done(cutShort);
      done({ ok: true, text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, received).toString('utf8') });
    };
    // A client gone before the end of its body: nothing will be answered, but the step must still finish.
    const onError = () => done(cutShort);
    request.on('data', onData).on('end', onEnd).on('error', onError).on('close', onError);
  });
}

const REFUSALS: BodyRefusals<RequestBody> = { tooLarge: { ok: false, status: 413 }, cutShort: { ok: false, status: 400 } };
