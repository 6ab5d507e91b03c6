import assert from "node:assert/strict";

/** Every .ts/.tsx file under `dir` (recursively). */
async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(path);
    else if (/\.tsx?$/.test(e.name)) yield path;
  }
}

Deno.test("only lib/keys.ts builds KV keys: no other module declares a key builder", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const offenders: string[] = [];
  for (const dir of ["lib", "routes", "client", "islands", "components"]) {
    for await (const path of sources(`${root}${dir}`)) {
      if (path.endsWith("_test.ts") || path.endsWith("/lib/keys.ts")) continue;
      const lines = (await Deno.readTextFile(path)).split("\n");
      lines.forEach((line, i) => {
        // A function typed to return a key: `(…): Deno.KvKey =>` or `(…): Key =>`.
        if (/\):\s*(Deno\.KvKey|Key)\s*=>/.test(line)) offenders.push(`${path}:${i + 1}`);
      });
    }
  }
  assert.deepEqual(offenders, []);
});
