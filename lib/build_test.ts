import assert from "node:assert/strict";
import { join } from "node:path";
import config from "../fresh.config.ts";
import { buildAssets, generateRegistry, MARKER_CSS, messagePart, REGISTRY_FILE } from "./build.ts";
import { defineConfig, type FreshConfig } from "./fresh_config.ts";
import type { IslandComponent } from "./islands.ts";

const ISLANDS_TS = new URL("./islands.ts", import.meta.url).pathname;

const COUNTER = `
import { useSignal } from "@preact/signals";
import { island } from "${ISLANDS_TS}";
function Counter(props: { start: number }) {
  const n = useSignal(props.start);
  return <button type="button" onClick={() => n.value++}>count: {n}</button>;
}
export default island("Counter", Counter);
`;

/** A throwaway project outside this repository (bare imports resolve via nodePaths). */
async function fixture(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "ll_build_test_" });
  const files: Record<string, string> = {
    "islands/Counter.tsx": COUNTER,
    "islands/Hello.tsx": `import { island } from "${ISLANDS_TS}";\n` +
      `export default island("Hello", (p: { who: string }) => <p>hello {p.who}</p>);\n`,
    "islands/_shared.ts": "export const skipped = 1;\n",
    "islands/Hello_test.tsx": "// skipped\n",
    "islands/README.md": "skipped\n",
    "client/entry.ts": `import { hydrateIslands } from "${ISLANDS_TS}";\n` +
      `import { islands } from "../islands/_registry.gen.ts";\nhydrateIslands(islands);\n`,
    "sw.ts": `declare const __LL_VERSION__: string, __LL_ASSETS__: string[];\n` +
      `self.addEventListener("install", () => console.log("installed", __LL_VERSION__, __LL_ASSETS__));\n`,
    "static/style.css": "body { color: #123456 }\n.logo { background: url(/icons/icon.svg) }\n",
  };
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  }
  return root;
}

/** The app's config pointed at a fixture project (no message catalogue there). */
function at(root: string, over: Partial<FreshConfig> = {}): FreshConfig {
  return defineConfig({ ...config, catalogue: null, ...over, root });
}

Deno.test("generateRegistry: empty folder, sorted names, skipped files, bad names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await generateRegistry(dir), []);
    const empty = await Deno.readTextFile(join(dir, REGISTRY_FILE));
    assert.match(empty, /export const islands: .* = \{\};\n$/);
    for (const name of ["Zeta.tsx", "Alpha.tsx", "Mid.ts", "_util.ts", "Alpha_test.tsx", "a.md"]) {
      await Deno.writeTextFile(join(dir, name), "");
    }
    assert.deepEqual(await generateRegistry(dir), ["Alpha", "Mid", "Zeta"]);
    const text = await Deno.readTextFile(join(dir, REGISTRY_FILE));
    assert.ok(text.includes(
      `= {\n  Alpha: () => import("./Alpha.tsx"),\n  Mid: () => import("./Mid.ts"),\n` +
        `  Zeta: () => import("./Zeta.tsx"),\n};\n`,
    ));
    const { mtime } = await Deno.stat(join(dir, REGISTRY_FILE));
    await generateRegistry(dir);
    assert.deepEqual(
      (await Deno.stat(join(dir, REGISTRY_FILE))).mtime,
      mtime,
      "unchanged: not rewritten",
    );
    await Deno.writeTextFile(join(dir, "lowerCase.tsx"), "");
    await assert.rejects(generateRegistry(dir), /lowerCase\.tsx: .*PascalCase/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build: hashed entry and style, one chunk per island, iife sw.js, manifest", async () => {
  const root = await fixture();
  try {
    const m = await buildAssets(at(root));
    assert.match(m.entry, /^\/_app\/entry-[A-Z0-9]{8}\.js$/);
    assert.match(m.style!, /^\/_app\/style-[A-Z0-9]{8}\.css$/);
    assert.equal(m.sw, "/sw.js");
    assert.equal(m.dir, join(root, "_build"));
    const urls = Object.keys(m.files);
    assert.equal(urls.filter((u) => /^\/_app\/(Counter|Hello)-[A-Z0-9]{8}\.js$/.test(u)).length, 2);
    assert.ok(m.preload.every((u) => urls.includes(u)));

    const read = (url: string) => Deno.readTextFile(join(root, "_build/static", url));
    const registry = await Deno.readTextFile(join(root, "islands", REGISTRY_FILE));
    assert.ok(registry.includes(`Counter: () => import("./Counter.tsx"),\n  Hello:`));
    const sw = await read("/sw.js");
    assert.match(sw, /^\(\(\)=>\{.*installed.*\}\)\(\);\n$/s, "minified IIFE");
    assert.match(m.version, /^[0-9a-f]{12}$/);
    const appUrls = urls.filter((u) => u.startsWith("/_app/")).sort();
    assert.ok(sw.includes(`"${m.version}"`) && sw.includes(JSON.stringify(appUrls)), "constants");
    const css = await read(m.style!);
    assert.ok(css.startsWith(MARKER_CSS), "marker rule prepended");
    assert.ok(css.includes("url(/icons/icon.svg)") && css.includes("#123456"));
    const entry = await read(m.entry);
    const counter = urls.find((u) => u.startsWith("/_app/Counter-"))!;
    assert.ok(entry.includes(`import("./${counter.slice(6)}")`), "island loaded lazily");

    const json = JSON.parse(await Deno.readTextFile(join(root, "_build/manifest.json")));
    const { dir: _, ...stored } = m;
    assert.deepEqual(json, stored);
    for (const [url, f] of Object.entries(m.files)) {
      const bytes = await Deno.readFile(join(root, "_build/static", url));
      assert.equal(f.size, bytes.length, url);
    }
    // What a page without islands downloads: the entry and its static imports.
    const first = [m.entry, ...m.preload].reduce((n, u) => n + m.files[u].gzip, 0);
    assert.ok(first < 8 * 1024, `entry + preloads are ${first} bytes gzipped`);
    assert.ok(m.files[counter].gzip < 6 * 1024, "Counter island chunk with signals");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("build: hashes follow the content; stale files are removed", async () => {
  const root = await fixture();
  try {
    const a = await buildAssets(at(root));
    const again = await buildAssets(at(root));
    assert.deepEqual(again.files, a.files, "deterministic");
    await Deno.writeTextFile(join(root, "islands/Counter.tsx"), COUNTER.replace("count:", "n:"));
    const b = await buildAssets(at(root));
    const counter = (m: typeof a) => Object.keys(m.files).find((u) => u.includes("/Counter-"));
    const hello = (m: typeof a) => Object.keys(m.files).find((u) => u.includes("/Hello-"));
    assert.notEqual(counter(b), counter(a));
    assert.notEqual(b.entry, a.entry, "entry imports the renamed chunk");
    assert.notEqual(b.version, a.version);
    const sw = await Deno.readTextFile(join(root, "_build/static/sw.js"));
    assert.ok(sw.includes(b.version), "sw.js changes with the app");
    assert.equal(hello(b), hello(a));
    assert.equal(b.style, a.style);
    const onDisk: string[] = [];
    for await (const e of Deno.readDir(join(root, "_build/static/_app"))) onDisk.push(e.name);
    assert.deepEqual(
      onDisk.map((n) => `/_app/${n}`).sort(),
      Object.keys(b.files).filter((u) => u.startsWith("/_app/")).sort(),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("build: dev mode keeps entry names stable and adds source maps", async () => {
  const root = await fixture();
  try {
    const m = await buildAssets(at(root), { dev: true });
    assert.equal(m.entry, "/_app/entry.js");
    assert.equal(m.style, "/_app/style.css");
    assert.deepEqual(m.preload, []);
    assert.ok(m.files["/_app/entry.js.map"] && m.files["/sw.js.map"]);
    const entry = await Deno.readTextFile(join(root, "_build/static/_app/entry.js"));
    assert.ok(entry.includes("\n  "), "not minified");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("build: this repository builds; each island's name matches its file", async () => {
  const m = await buildAssets({ ...config, outDir: "_build_unused" }, { write: false });
  assert.match(m.entry, /^\/_app\/entry-[A-Z0-9]{8}\.js$/);
  assert.equal(m.sw, "/sw.js");
  const islandsDir = new URL("../islands/", import.meta.url);
  for await (const entry of Deno.readDir(islandsDir)) {
    const match = /^([A-Z][A-Za-z0-9]*)\.(tsx|ts|jsx|js)$/.exec(entry.name);
    if (!match) continue;
    const mod = await import(new URL(entry.name, islandsDir).href);
    const island = mod.default as IslandComponent<unknown> | undefined;
    assert.equal(island?.__island?.name, match[1], `islands/${entry.name}`);
  }
});

Deno.test("deno task build works in a fresh checkout, before node_modules/ exists", async () => {
  const repo = new URL("../", import.meta.url);
  const root = await Deno.makeTempDir({ prefix: "ll_fresh_checkout_" });
  try {
    const files = [
      "deno.json",
      "deno.lock",
      "fresh.config.ts",
      "build.ts",
      "client/entry.ts",
      "lib/build.ts",
      "lib/assets.ts",
      "lib/fresh_config.ts",
      ...config.catalogue!.languages.map((l) => `${config.catalogue!.dir}/${l}.json`),
    ];
    for (const path of [...files, "lib/islands.ts"]) {
      await Deno.mkdir(join(root, path, ".."), { recursive: true });
      await Deno.copyFile(new URL(path, repo), join(root, path));
    }
    await Deno.mkdir(join(root, "islands"));
    await Deno.writeTextFile(
      join(root, "islands/Counter.tsx"),
      COUNTER.replace(ISLANDS_TS, "../lib/islands.ts"),
    );
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      // The task installs node_modules/ first (deno.json: `"nodeModulesDir": "manual"`).
      args: ["task", "build"],
      cwd: root,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const m = JSON.parse(await Deno.readTextFile(join(root, "_build/manifest.json")));
    assert.ok(Object.keys(m.files).some((u) => u.startsWith("/_app/Counter-")));
    assert.match(m.messages.ko, /^\/_app\/msgs-ko-[0-9A-F]{10}\.js$/, "catalogue from the config");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("messagePart: each kind of page loads its own texts; notification texts stay on the server", () => {
  assert.equal(messagePart("board.title"), "");
  assert.equal(messagePart("err.cooldown"), "");
  assert.equal(messagePart("err.weak_password"), "-auth");
  assert.equal(messagePart("err.bad_credentials"), "-auth");
  assert.equal(messagePart("err.duplicate_name"), "-admin");
  assert.equal(messagePart("err.not_cancellable"), "-admin");
  assert.equal(messagePart("err.bad_host"), null);
  assert.equal(messagePart("qr.hint"), null, "the QR label sheet is server-rendered");
  assert.equal(messagePart("err.not_owner"), "", "the board meets it");
  assert.equal(messagePart("settings.title"), "", "the bell links to Settings on every page");
  assert.equal(messagePart("admin.add"), "-admin");
  assert.equal(messagePart("notice.send"), "-admin");
  assert.equal(messagePart("settings.save"), "-settings");
  assert.equal(messagePart("kindname.notice"), "-settings");
  assert.equal(messagePart("reset.code"), "-auth");
  assert.equal(messagePart("n.done.title"), null);
  assert.equal(messagePart("push.generic_body"), null);
  assert.equal(messagePart("offline.title"), null);
  assert.equal(messagePart("nav.board"), null, "the top bar is rendered on the server only");
  assert.equal(messagePart("nav.logout"), "", "the bell's panel has a log-out button");
  assert.equal(messagePart("err.field.password"), "-auth");
  assert.equal(messagePart("err.field.code"), "-admin");
  assert.equal(messagePart("err.field.minutes"), "", "the board's start form");
  assert.equal(messagePart("operator.create"), "-operator");
  assert.equal(messagePart("err.no_user"), "-operator");
  assert.equal(messagePart("inbox.mark_all"), "-inbox");
  assert.equal(messagePart("inbox.title"), "", "the bell's label");
});
