import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  assetTags,
  IMMUTABLE,
  loadManifest,
  type Manifest,
  serveBuilt,
  STATIC_CACHE,
} from "./assets.ts";

const ENTRY = "/_app/entry-ABCD2345.js";
const JS = `export const text = ${JSON.stringify("세탁기 ".repeat(200))};\n`;

/** A fake build (as lib/build.ts writes it) and a static folder, in a temp dir. */
async function fixture(dev = false) {
  const dir = await Deno.makeTempDir({ prefix: "ll_assets_test_" });
  const files: Record<string, string> = {
    [`_build/static${ENTRY}`]: JS,
    "_build/static/_app/style-QWER2345.css": "body{color:red}",
    "_build/static/sw.js": `(()=>{self.addEventListener("install",()=>{})})();`,
    "static/icons/icon.svg": `<svg xmlns="http://www.w3.org/2000/svg">${" ".repeat(900)}</svg>`,
    "static/manifest.webmanifest": `{"name":"LaundryLive"}`,
    "static/.secret": "no",
  };
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, path), text);
  }
  const stored: Omit<Manifest, "dir"> = {
    dev,
    version: "0123456789ab",
    entry: ENTRY,
    sw: "/sw.js",
    style: "/_app/style-QWER2345.css",
    preload: ["/_app/chunk-ZXCV2345.js"],
    files: {},
  };
  await Deno.writeTextFile(join(dir, "_build/manifest.json"), JSON.stringify(stored));
  const manifest = await loadManifest(join(dir, "_build"));
  const serve = serveBuilt(manifest, { staticDir: join(dir, "static") });
  const get = (path: string, headers: HeadersInit = {}, method = "GET") =>
    serve(new Request(`http://localhost${path}`, { headers, method }));
  return { dir, manifest, get, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("loadManifest adds the build dir; assetTags lists head URLs", async () => {
  await using f = await fixture();
  assert.equal(f.manifest.dir, join(f.dir, "_build"));
  assert.deepEqual(assetTags(f.manifest), {
    scripts: [ENTRY],
    styles: ["/_app/style-QWER2345.css"],
    preload: ["/_app/chunk-ZXCV2345.js"],
  });
  await assert.rejects(loadManifest(join(f.dir, "nope")), /deno task build/);
});

Deno.test("hashed assets: immutable, typed, gzipped when accepted, ETag and 304", async () => {
  await using f = await fixture();
  const res = (await f.get(ENTRY, { "Accept-Encoding": "gzip, deflate, br" }))!;
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Cache-Control"), IMMUTABLE);
  assert.equal(res.headers.get("Content-Type"), "text/javascript; charset=utf-8");
  assert.equal(res.headers.get("Content-Encoding"), "gzip");
  assert.equal(res.headers.get("Vary"), "Accept-Encoding");
  const gz = new Uint8Array(await res.arrayBuffer());
  assert.equal(Number(res.headers.get("Content-Length")), gz.length);
  assert.ok(gz.length < new TextEncoder().encode(JS).length / 4);
  assert.equal(new TextDecoder().decode(gunzipSync(gz)), JS);

  for (const accept of [null, "gzip;q=0", "identity"]) {
    const plain = (await f.get(ENTRY, accept ? { "Accept-Encoding": accept } : {}))!;
    assert.equal(plain.headers.get("Content-Encoding"), null, String(accept));
    assert.equal(await plain.text(), JS);
  }

  const etag = res.headers.get("ETag")!;
  assert.match(etag, /^W\/"[^"]+"$/);
  const cached = (await f.get(ENTRY, { "If-None-Match": `"other", ${etag}` }))!;
  assert.equal(cached.status, 304);
  assert.equal(cached.body, null);
  assert.equal(cached.headers.get("Cache-Control"), IMMUTABLE);

  const head = (await f.get(ENTRY, {}, "HEAD"))!;
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
  assert.equal(Number(head.headers.get("Content-Length")), new TextEncoder().encode(JS).length);
});

Deno.test("unknown /_app/ paths are 404; other misses fall through with null", async () => {
  await using f = await fixture();
  for (const path of ["/_app/entry-NOPE.js", "/_app/", "/_app/sub/x.js"]) {
    const missing = (await f.get(path))!;
    assert.equal(missing.status, 404, path);
    await missing.body?.cancel();
  }
  for (const path of ["/", "/api/machines", "/icons/nope.png", "/icons", "/.secret"]) {
    assert.equal(await f.get(path), null, path);
  }
  for (const path of ["/_app/..%2fmanifest.json", "/icons/..%2f..%2f_build/manifest.json"]) {
    assert.equal(await f.get(path), null, path);
  }
  assert.equal(await f.get(ENTRY, {}, "POST"), null);
});

Deno.test("/sw.js: no-cache, root scope allowed", async () => {
  await using f = await fixture();
  const res = (await f.get("/sw.js"))!;
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Cache-Control"), "no-cache");
  assert.equal(res.headers.get("Service-Worker-Allowed"), "/");
  assert.equal(res.headers.get("Content-Type"), "text/javascript; charset=utf-8");
  assert.match(await res.text(), /addEventListener\("install"/);
});

Deno.test("static/ files: moderate cache, types, gzip for SVG, reloaded on change", async () => {
  await using f = await fixture();
  const svg = (await f.get("/icons/icon.svg", { "Accept-Encoding": "gzip" }))!;
  assert.equal(svg.headers.get("Content-Type"), "image/svg+xml");
  assert.equal(svg.headers.get("Cache-Control"), STATIC_CACHE);
  assert.equal(svg.headers.get("Content-Encoding"), "gzip");
  await svg.body?.cancel();
  const path = join(f.dir, "static/manifest.webmanifest");
  const first = (await f.get("/manifest.webmanifest"))!;
  assert.equal(first.headers.get("Content-Type"), "application/manifest+json; charset=utf-8");
  assert.equal(await first.text(), `{"name":"LaundryLive"}`);
  await Deno.writeTextFile(path, `{"name":"LL"}`);
  await Deno.utime(path, new Date(), new Date(Date.now() + 5000));
  const second = (await f.get("/manifest.webmanifest"))!;
  assert.equal(await second.text(), `{"name":"LL"}`);
  assert.notEqual(second.headers.get("ETag"), first.headers.get("ETag"));
});

Deno.test("a dev build's /_app/ files are served with no-cache", async () => {
  await using f = await fixture(true);
  const res = (await f.get(ENTRY))!;
  assert.equal(res.headers.get("Cache-Control"), "no-cache");
  await res.body?.cancel();
});
