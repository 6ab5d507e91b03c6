/**
 * One HTTP/1.1 request written byte by byte over TCP, for requests `fetch`
 * will not send (a Host with a space, a WebSocket handshake without its key,
 * a 100 MB Content-Length with only a few bytes behind it).
 * @module
 */

/** What {@link rawHttp} read back. */
export interface RawHttpResponse {
  status: number;
  headers: Headers;
  /** The body as text (up to Content-Length, or what arrived before close). */
  body: string;
  /** Milliseconds from the first byte written to the end of the response head. */
  ms: number;
}

/**
 * Send `head` (request line and header lines, without the blank line), then
 * `body` if given, and read the response head and body. With `bodyBytes`,
 * up to that many zero bytes are written after the head while the answer is
 * awaited (writing stops once the server has answered or closed).
 */
export async function rawHttp(
  baseUrl: string,
  head: string[],
  opts: { body?: string; bodyBytes?: number; timeoutMs?: number } = {},
): Promise<RawHttpResponse> {
  const u = new URL(baseUrl);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  const enc = new TextEncoder();
  const t0 = performance.now();
  let answered = false;
  try {
    await conn.write(enc.encode(head.join("\r\n") + "\r\n\r\n" + (opts.body ?? "")));
    const writer = (async () => {
      const chunk = new Uint8Array(64 * 1024);
      let left = opts.bodyBytes ?? 0;
      while (left > 0 && !answered) {
        const n = Math.min(left, chunk.length);
        try {
          await conn.write(chunk.subarray(0, n));
        } catch {
          return; // the server closed the connection: fine
        }
        left -= n;
      }
    })();
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(16 * 1024);
    const dec = new TextDecoder();
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    let headMs = 0;
    while (Date.now() < deadline) {
      const text = dec.decode(buf);
      const end = text.indexOf("\r\n\r\n");
      if (end !== -1) {
        if (!headMs) headMs = performance.now() - t0;
        answered = true;
        const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
        const headers = new Headers();
        for (const h of lines) {
          const i = h.indexOf(":");
          headers.append(h.slice(0, i).trim(), h.slice(i + 1).trim());
        }
        const len = Number(headers.get("content-length") ?? 0);
        const bodyText = text.slice(end + 4);
        if (enc.encode(bodyText).length >= len) {
          await writer;
          return {
            status: Number(statusLine.split(" ")[1]),
            headers,
            body: bodyText,
            ms: headMs,
          };
        }
      }
      let n: number | null;
      try {
        n = await conn.read(chunk);
      } catch {
        n = null;
      }
      if (n === null) break;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
    }
    answered = true;
    await writer;
    throw new Error(`incomplete response: ${JSON.stringify(dec.decode(buf).slice(0, 300))}`);
  } finally {
    answered = true;
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}
