import assert from "node:assert/strict";
import { h } from "preact";
import { useState } from "preact/hooks";
import { signal } from "@preact/signals";
import { renderToString } from "preact-render-to-string";
// linkedom is pinned to 0.18.12 in deno.json: 0.18.13+ depends on a package the registry lacks.
import { parseHTML } from "linkedom";
import { hydrateIslands, island, type IslandRegistry } from "./islands.ts";

function Greeting(props: { text: string; n?: number }) {
  return h("p", { class: "greeting" }, props.text, " ", String(props.n ?? 0));
}
const GreetingIsland = island("Greeting", Greeting);

function Counter(props: { start: number; label: string }) {
  const [n, setN] = useState(props.start);
  return h("button", { type: "button", onClick: () => setN(n + 1) }, `${props.label} ${n}`);
}
const CounterIsland = island("Counter", Counter);

function Outer(props: { title: string }) {
  // A nested island may take anything: it is hydrated as part of Outer.
  return h("section", null, props.title, h(GreetingIsland, { text: "inner", n: 1 }));
}
const OuterIsland = island("Outer", Outer);

const TRICKY = `</script><script>alert("x")</script> 'single' "double" & &amp; <b> \u2028 ` +
  `세탁기 🧺 \\ {"json":1}`;

function dataProps(html: string): unknown[] {
  const { document } = parseHTML(`<!doctype html><html><body>${html}</body></html>`);
  return Array.from(document.querySelectorAll("[data-island]"))
    .map((el) => JSON.parse((el as Element).getAttribute("data-props")!));
}

Deno.test("island() attaches its name and plain component", () => {
  assert.equal(GreetingIsland.__island.name, "Greeting");
  assert.equal(GreetingIsland.__island.Component, Greeting);
  assert.throws(() => island("lowercase", Greeting), /PascalCase/);
});

Deno.test("server render emits a marker with the serialised props around the component", () => {
  const html = renderToString(h("main", null, h(GreetingIsland, { text: "hi", n: 2 })));
  assert.equal(
    html,
    `<main><ll-island data-island="Greeting" data-props="{&quot;text&quot;:&quot;hi&quot;,` +
      `&quot;n&quot;:2}"><p class="greeting">hi 2</p></ll-island></main>`,
  );
});

Deno.test("tricky strings round-trip through the data-props attribute", () => {
  const props = { text: TRICKY, n: -1.5, list: [TRICKY, null, true], nested: { k: TRICKY } };
  const html = renderToString(h(GreetingIsland, props));
  assert.ok(!html.includes("</script>"), "no raw </script> in the HTML");
  const attr = /data-props="([^"]*)"/.exec(html)![1]; // quotes are escaped, so this is all of it
  assert.ok(attr.includes("&lt;/script>") && attr.includes("&amp;amp;"));
  assert.deepEqual(dataProps(html), [props]);
});

Deno.test("non-JSON props are rejected at render time with a clear error", () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["a function", { onPick: () => {} }, /island "Bad": prop "onPick" is a function/],
    ["a signal", { count: signal(1) }, /prop "count" is a signal/],
    ["a Date", { when: new Date() }, /prop "when" is a Date/],
    ["a Map deep inside", { a: [{ b: new Map() }] }, /prop "a\.0\.b" is a Map/],
    ["NaN", { n: NaN }, /prop "n" is NaN/],
    ["a bigint", { n: 1n }, /prop "n" is a bigint/],
    ["undefined in an array", { a: [undefined] }, /"a\.0" is undefined in an array/],
    ["JSX children", { children: h("b", null) }, /"children" is a JSX element/],
  ];
  const Bad = island("Bad", (_: Record<string, unknown>) => null);
  for (const [what, props, message] of bad) {
    assert.throws(() => renderToString(h(Bad, props)), message, what);
  }
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => renderToString(h(Bad, { cyclic })), /circular/);
  // Repeated (non-cyclic) objects and undefined members are fine.
  const shared = { x: 1 };
  assert.doesNotThrow(() => renderToString(h(Bad, { a: shared, b: shared, c: undefined })));
});

Deno.test("an island inside an island renders no marker of its own", () => {
  const html = renderToString(h(OuterIsland, { title: "t" }));
  assert.equal(html.match(/data-island=/g)?.length, 1);
  assert.ok(html.includes(`<p class="greeting">inner 1</p>`));
  // Outside an island it gets its marker again.
  assert.ok(renderToString(h(GreetingIsland, { text: "x" })).includes(`data-island="Greeting"`));
});

Deno.test("server HTML hydrates in a DOM: existing nodes kept, events wired", async () => {
  const page = h(
    "main",
    null,
    h(CounterIsland, { start: 41, label: TRICKY }),
    h("p", { id: "static" }, "static"),
    h(OuterIsland, { title: "outer" }),
    h(GreetingIsland, { text: "missing from registry" }),
  );
  const html = renderToString(page);
  const { document } = parseHTML(`<!doctype html><html><body>${html}</body></html>`);
  const button = document.querySelector("button")!;
  const registry: IslandRegistry = {
    Counter: () => Promise.resolve({ default: CounterIsland }),
    Outer: () => Promise.resolve({ default: OuterIsland }),
  };
  const errors: unknown[] = [];
  const { error } = console;
  const g = globalThis as { document?: unknown };
  g.document = document; // the browser side of typeof document checks
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    const count = await hydrateIslands(registry, document as unknown as ParentNode);
    assert.equal(count, 2);
    assert.equal(errors.length, 1, "unknown island is logged");
    assert.match(String((errors[0] as unknown[])[0]), /"Greeting" failed/);
    assert.equal(document.querySelector("button"), button, "hydrate reuses server DOM");
    assert.equal(button.textContent, `${TRICKY} 41`);
    button.dispatchEvent(new document.defaultView!.Event("click"));
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(button.textContent, `${TRICKY} 42`);
    const markers = document.querySelectorAll("ll-island[data-hydrated]");
    assert.equal(markers.length, 2);
  } finally {
    delete g.document;
    console.error = error;
  }
});
