/**
 * Baseline (a), "the ceiling": a bare `Deno.serve` + `Deno.upgradeWebSocket`
 * broadcast server doing nothing else. `POST /broadcast {id, size}` builds
 * one frame of `size` bytes (the app's event frame size), serialises it once
 * and sends it to every open socket. Each socket gets a small hello on open,
 * like the app's `hello`. No auth, no store, no per-connection state.
 *
 * Env: PORT (default 0). Prints `listening on http://127.0.0.1:<port>`.
 * @module
 */
const sockets = new Set<WebSocket>();
const HELLO = JSON.stringify({ type: "hello", serverTime: 0 });

/** One event frame padded to `size` bytes (ASCII). */
export function frame(id: number, size: number): string {
  const head = JSON.stringify({ type: "event", id, at: Date.now(), pad: "" });
  const pad = Math.max(0, size - head.length);
  return head.slice(0, -2) + "x".repeat(pad) + '"}';
}

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 0),
  onListen: (a) => console.log(`listening on http://127.0.0.1:${a.port}`),
}, async (req) => {
  const url = new URL(req.url);
  if (url.pathname === "/ws") {
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
    socket.onopen = () => {
      sockets.add(socket);
      socket.send(HELLO);
    };
    socket.onclose = () => sockets.delete(socket);
    socket.onerror = () => sockets.delete(socket);
    return response;
  }
  if (req.method === "POST" && url.pathname === "/broadcast") {
    const { id, size } = await req.json();
    const msg = frame(id, size);
    for (const s of sockets) if (s.readyState === WebSocket.OPEN) s.send(msg);
    return new Response("ok");
  }
  if (url.pathname === "/api/machines") return new Response("{}", { status: 401 });
  return new Response("not found", { status: 404 });
});
