// A tiny push-service sink for the benchmarks (its own process, so its CPU
// is never counted against the sender): answers every POST with 201.
// Listens on http://127.0.0.1:<port> and, when SINK_CERT/SINK_KEY name PEM
// files, also on https://127.0.0.1:<port>. Prints one line:
//   SINK http=<url> https=<url|->
// GET /_log returns [[path, epochMs], …] of the POSTs under /r/ (reminder
// pushes) and forgets them; GET /_count returns {"count": n}; POST /_reset
// zeroes both (between two measured runs).
// Run it under bench/common.ts spawn(): the guard kills it with the runner.
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import process from "node:process";

let count = 0;
let log = [];

function handler(req, res) {
  if (req.method === "GET" && req.url === "/_log") {
    const body = JSON.stringify(log);
    log = [];
    res.writeHead(200, { "content-type": "application/json" }).end(body);
    return;
  }
  if (req.method === "POST" && req.url === "/_reset") {
    count = 0;
    log = [];
    res.writeHead(204).end();
    return;
  }
  if (req.method === "GET" && req.url === "/_count") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ count }));
    return;
  }
  const at = Date.now();
  req.on("data", () => {});
  req.on("end", () => {
    count++;
    if (req.url.startsWith("/r/")) log.push([req.url, at]);
    res.writeHead(201, { location: "/m/1" }).end();
  });
}

const plain = http.createServer({ keepAliveTimeout: 60_000 }, handler);
await new Promise((r) => plain.listen(0, "127.0.0.1", r));
let secureUrl = "-";
if (process.env.SINK_CERT && process.env.SINK_KEY) {
  const tls = https.createServer({
    cert: fs.readFileSync(process.env.SINK_CERT),
    key: fs.readFileSync(process.env.SINK_KEY),
    keepAliveTimeout: 60_000,
  }, handler);
  await new Promise((r) => tls.listen(0, "127.0.0.1", r));
  secureUrl = `https://127.0.0.1:${tls.address().port}`;
}
console.log(`SINK http=http://127.0.0.1:${plain.address().port} https=${secureUrl}`);
