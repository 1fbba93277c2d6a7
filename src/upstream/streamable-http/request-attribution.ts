import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { isJsonObject, type JsonObject } from '../../json-object.js';

/**
 * Which of the gateway's requests an upstream's own request (sampling, elicitation) belongs to. Over Streamable
 * HTTP an upstream sends such a request on the SSE stream of the POST it is serving, but the SDK's client transport
 * hands every message to one shared client without saying which stream it came on. This fetch wrapper says it:
 * every server request in the response to a POSTed JSON-RPC request gets the POST's JSON-RPC id in
 * `params._meta[RELATED_REQUEST_KEY]`. A stream belongs to exactly one POST, so the mark is exact; anywhere else
 * (the GET stream, the legacy SSE stream) the key is removed, and where it is set it is always overwritten, so an
 * upstream can never choose whose request its own is attributed to. Other events pass through unchanged.
 */

export const RELATED_REQUEST_KEY = 'io.gatehouse/related-request-id';

const isRequest = (message: unknown): message is JsonObject => isJsonObject(message) && 'method' in message && 'id' in message;

/** The id this gateway's JSON-RPC request `body` carries, if it is one request (the SDK posts a JSON string). */
function requestIdOf(body: unknown): RequestId | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const message: unknown = JSON.parse(body);
    return isRequest(message) && (typeof message.id === 'string' || typeof message.id === 'number') ? message.id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `message` with the mark set to `related` (or removed when `related` is undefined); undefined when unchanged.
 * Only a JSON-RPC request is touched.
 */
function remark(message: unknown, related: RequestId | undefined): JsonObject | undefined {
  if (!isRequest(message)) return undefined;
  const params = message.params;
  if (params !== undefined && !isJsonObject(params)) return undefined;
  const meta = isJsonObject(params?._meta) ? params._meta : undefined;
  if (related === undefined) {
    if (!meta || !Object.hasOwn(meta, RELATED_REQUEST_KEY)) return undefined;
    const { [RELATED_REQUEST_KEY]: _spoofed, ...rest } = meta;
    return { ...message, params: { ...params, _meta: rest } };
  }
  return { ...message, params: { ...params, _meta: { ...meta, [RELATED_REQUEST_KEY]: related } } };
}

const mayHoldRequest = (text: string) => text.includes('"method"') || text.includes('\\u');

/**
 * The JSON text `text` (one message or a batch) with its requests re-marked, or undefined when nothing changed.
 * A request has the key "method", which JSON text can only spell literally or with a \u escape: anything else is
 * not parsed at all (results, progress without escapes, keep-alives).
 */
export function remarkJsonText(text: string, related: RequestId | undefined): string | undefined {
  if (!mayHoldRequest(text)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) {
    const changed = remark(parsed, related);
    return changed && JSON.stringify(changed);
  }
  const changed = parsed.map((message: unknown) => remark(message, related));
  return changed.some(Boolean) ? JSON.stringify(parsed.map((message: unknown, index) => changed[index] ?? message)) : undefined;
}

/**
 * One raw SSE event (its lines up to and including the blank line that ends it) re-marked, or the same text.
 * Fields are read as the SSE specification (and eventsource-parser, which the SDK uses) reads them: the name up to
 * the first colon, one optional space after it, `data` values joined with newlines.
 */
export function remarkEvent(raw: string, related: RequestId | undefined): string {
  if (!mayHoldRequest(raw)) return raw;
  const lines = raw.split(/\r\n|\r|\n/);
  const data: string[] = [];
  const isData = lines.map((line) => {
    const colon = line.indexOf(':');
    if ((colon === -1 ? line : line.slice(0, colon)) !== 'data') return false;
    data.push(colon === -1 ? '' : line.slice(colon + (line.charCodeAt(colon + 1) === 32 ? 2 : 1)));
    return true;
  });
  if (data.length === 0) return raw;
  const changed = remarkJsonText(data.join('\n'), related);
  if (changed === undefined) return raw;
  // JSON.stringify writes no line breaks: the new data is one line, in place of the first data line.
  const first = isData.indexOf(true);
  return lines.flatMap((line, index) => (index === first ? [`data: ${changed}`] : isData[index] ? [] : [line])).join('\n');
}

/**
 * An SSE body re-marked event by event. The text is cut at event boundaries (a line break followed by an empty
 * line; CRLF, CR and LF all end a line), so an event split across chunks is handled whole. Nothing is delayed
 * that a client could act on: an event is only dispatched at its blank line anyway. Leading byte order marks
 * are dropped (an SSE client drops one); an unfinished event at the end is passed on as it is (no client
 * dispatches it).
 */
export function remarkEventStream(body: ReadableStream<Uint8Array>, related: RequestId | undefined): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = '';
  let first = true;
  /** Where the scan for the end of the current event resumes (everything before it holds no event end). */
  let scanned = 0;
  const lineBreak = /\r\n|\r|\n/g;

  const completeEvents = (final: boolean): string => {
    let out = '';
    let eventStart = 0;
    let lineStart = scanned;
    lineBreak.lastIndex = scanned;
    for (let match = lineBreak.exec(buffer); match; match = lineBreak.exec(buffer)) {
      const end = match.index + match[0].length;
      // A CR at the end of what has arrived may be the first half of a CRLF.
      if (match[0] === '\r' && end === buffer.length && !final) break;
      if (match.index === lineStart) {
        out += remarkEvent(buffer.slice(eventStart, end), related);
        eventStart = end;
      }
      lineStart = end;
    }
    buffer = buffer.slice(eventStart);
    scanned = lineStart - eventStart;
    return out;
  };

  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        buffer += decoder.decode(chunk, { stream: true });
        if (first) {
          // Byte order marks in front are dropped here, so the client parses exactly the text read here.
          buffer = buffer.replace(/^\uFEFF+/, '');
          first = buffer.length === 0;
        }
        const out = completeEvents(false);
        if (out) controller.enqueue(encoder.encode(out));
      },
      flush(controller) {
        buffer += decoder.decode();
        const out = completeEvents(true) + buffer;
        if (out) controller.enqueue(encoder.encode(out));
      },
    }),
  );
}

const mediaType = (response: Response) => response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();

/**
 * A fetch for the SDK's HTTP client transports that re-marks the server requests in every SSE or JSON response:
 * with the JSON-RPC id of the POSTed request the response answers, or (any other response) without a mark.
 */
export function attributeServerRequests(base: FetchLike): FetchLike {
  return async (url, init) => {
    const response = await base(url, init);
    const type = mediaType(response);
    if (!response.body || (type !== 'text/event-stream' && type !== 'application/json')) return response;
    const related = init?.method === 'POST' ? requestIdOf(init.body) : undefined;
    const head = { status: response.status, statusText: response.statusText, headers: response.headers };
    if (type === 'text/event-stream') return new Response(remarkEventStream(response.body, related), head);
    const text = await response.text();
    return new Response(remarkJsonText(text, related) ?? text, head);
  };
}
