// Baseline (b): a Node `ws` broadcast server, the same contract as
// bench/baseline_deno_ws.ts: GET /ws upgrades (hello on open),
// POST /broadcast {id,size} sends one frame of `size` bytes to every client
// (serialised once). Env PORT (default 0). Prints "listening on http://…".
import http from "node:http";
import process from "node:process";
import { WebSocketServer } from "ws";

const HELLO = JSON.stringify({ type: "hello", serverTime: 0 });
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: true });

function frame(id, size) {
  const head = JSON.stringify({ type: "event", id, at: Date.now(), pad: "" });
  const pad = Math.max(0, size - head.length);
  return head.slice(0, -2) + "x".repeat(pad) + '"}';
}

const server = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/broadcast") {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const { id, size } = JSON.parse(body);
      const msg = frame(id, size);
      for (const c of wss.clients) if (c.readyState === 1) c.send(msg);
      res.writeHead(200).end("ok");
    });
    return;
  }
  if (req.url === "/api/machines") return res.writeHead(401).end("{}");
  res.writeHead(404).end("not found");
});
server.on("upgrade", (req, socket, head) => {
  if (!req.url.startsWith("/ws")) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.send(HELLO);
  });
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
