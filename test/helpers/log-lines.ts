import { Writable } from 'node:stream';

/** A pino destination that keeps every line in memory. */
export function memoryDestination(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  let pending = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      pending += String(chunk);
      const parts = pending.split('\n');
      pending = parts.pop()!;
      lines.push(...parts.filter((line) => line !== ''));
      done();
    },
  });
  return { stream, lines };
}
