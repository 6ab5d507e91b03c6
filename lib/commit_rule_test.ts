import assert from "node:assert/strict";

/** Every .ts/.tsx file under `dir` (recursively). */
async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(path);
    else if (/\.tsx?$/.test(e.name)) yield path;
  }
}

/**
 * The loops of `text` that repeat rather than walk a collection (`for (…;…;…)`,
 * `while (…)`, `do {…} while`) whose body both checks a versionstamp and
 * commits: a retry loop of its own. Returns the 1-based line of each.
 */
export function ownRetryLoops(text: string): number[] {
  const out: number[] = [];
  const loop = /\b(for|while)\s*\(|\bdo\s*\{/g;
  for (let m = loop.exec(text); m; m = loop.exec(text)) {
    // `for (const e of list)` / `for await (…)`: one commit per item, not a retry.
    if (
      /^for\s*\(\s*(const|let|var)\s+[^;]*?\s(of|in)\s/.test(text.slice(m.index, m.index + 200))
    ) {
      continue;
    }
    const open = text.indexOf("{", m.index);
    if (open < 0) continue;
    // The loop's body: up to the matching brace.
    let depth = 0;
    let end = open;
    for (; end < text.length; end++) {
      if (text[end] === "{") depth++;
      else if (text[end] === "}" && --depth === 0) break;
    }
    const body = text.slice(open, end);
    if (/\.check\(/.test(body) && /\.commit\(\)/.test(body)) {
      out.push(text.slice(0, m.index).split("\n").length);
    }
  }
  return out;
}

Deno.test("ownRetryLoops finds a checked commit retried in a loop, and only that", () => {
  assert.deepEqual(
    ownRetryLoops(`a();
for (let i = 0; i < 5; i++) {
  const e = await kv.get(k);
  if ((await kv.atomic().check(e).set(k, 1).commit()).ok) break;
}
while (more) {
  await kv.atomic().set(k, 2).commit();
}
for (const x of xs) { op.check(x); }
for (const e of entries) {
  await kv.atomic().check(e).set(e.key, 1).commit();
}
`),
    [2],
  );
  assert.deepEqual(ownRetryLoops("do {\n  r = await op.check(e).commit();\n} while (!r.ok);"), [1]);
});

Deno.test("one retry helper: only lib/commit.ts retries checked commits in a loop", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const offenders: string[] = [];
  for (const dir of ["lib", "routes", "client", "islands", "components", "tools"]) {
    for await (const path of sources(`${root}${dir}`)) {
      if (path.endsWith("_test.ts") || path.endsWith("/lib/commit.ts")) continue;
      for (const line of ownRetryLoops(await Deno.readTextFile(path))) {
        offenders.push(`${path.slice(root.length)}:${line}`);
      }
    }
  }
  assert.deepEqual(offenders, [], "use retryCommit/tryCommit from lib/commit.ts");
});
