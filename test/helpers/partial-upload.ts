import { connect } from 'node:net';

/**
 * Sends a request head (`POST {path}` with the given header lines) and the start of its body, never the rest; answers
 * what the server wrote until it closed the connection. For the body limits of the front doors.
 */
export function partialUpload(base: string, path: string, headerLines: string, bodyStart: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const { host, port } = new URL(base);
    const socket = connect(Number(port), '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(received).toString('latin1')));
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${host}\r\n${headerLines}\r\n${bodyStart}`);
  });
}

/** The two ways past a body limit: a Content-Length over it, and a chunked body that grows past it. */
export async function uploadsOverLimit(base: string, path: string, headerLines: string, limit: number): Promise<{ declared: string; streamed: string }> {
  const declared = await partialUpload(base, path, `${headerLines}Content-Length: ${100 * limit}\r\n`, 'a');
  const over = limit + 1;
  const streamed = await partialUpload(base, path, `${headerLines}Transfer-Encoding: chunked\r\n`, `${over.toString(16)}\r\n${'x'.repeat(over)}\r\n`);
  return { declared, streamed };
}
