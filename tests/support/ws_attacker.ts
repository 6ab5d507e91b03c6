/**
 * A hostile WebSocket client in its own Worker (its own thread, so its send
 * loop cannot slow the test's measurements): told `{url, cookie, origin,
 * flood}`, it opens `/ws`, floods, and answers `{sent, code, wasClean}` once
 * the socket has closed.
 * @module
 */

/** What the test asks for. */
export interface AttackOrder {
  url: string;
  cookie: string;
  origin: string;
  flood: "garbage" | "ack" | "visibility" | "oversize";
  frames: number;
}

/** What the worker answers. */
export interface AttackReport {
  sent: number;
  code: number;
  wasClean: boolean;
}

const frame = (flood: AttackOrder["flood"], i: number): string => {
  switch (flood) {
    case "garbage":
      return `{not json ${i}`;
    case "ack":
      return JSON.stringify({
        type: "ack",
        ids: Array.from({ length: 100 }, (_, k) => `made-up-${i}-${k}`),
      });
    case "visibility":
      return JSON.stringify({ type: "visibility", visible: i % 2 === 0 });
    case "oversize":
      return "x".repeat(10 * 1024 * 1024);
  }
};

const scope = self as unknown as {
  onmessage: ((ev: MessageEvent<AttackOrder>) => void) | null;
  postMessage(msg: AttackReport): void;
};

scope.onmessage = (ev) => {
  const o = ev.data;
  const DenoWebSocket = WebSocket as unknown as new (
    url: string,
    opts: { headers: HeadersInit },
  ) => WebSocket;
  const ws = new DenoWebSocket(o.url, { headers: { cookie: o.cookie, origin: o.origin } });
  let sent = 0;
  let open = false;
  ws.onmessage = async (m) => {
    if (open || !String(m.data).startsWith('{"type":"hello"')) return;
    open = true;
    const total = o.flood === "oversize" ? 1 : o.frames;
    for (; sent < total && ws.readyState === WebSocket.OPEN; sent++) {
      ws.send(frame(o.flood, sent));
      if (sent % 10 === 9) await new Promise((r) => setTimeout(r, 0));
    }
  };
  ws.onerror = () => {};
  ws.onclose = (c) => scope.postMessage({ sent, code: c.code, wasClean: c.wasClean });
};
