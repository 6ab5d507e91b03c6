/**
 * Islands: the small part of Fresh that LaundryLive keeps.
 *
 * Pages are rendered to HTML on the server with preact-render-to-string and
 * ship no JavaScript by default. An *island* is a component that also runs in
 * the browser. Each lives in `islands/Name.tsx` with a default export made by
 * {@linkcode island}:
 *
 * ```tsx
 * // islands/Counter.tsx
 * import { useSignal } from "@preact/signals";
 * import { island } from "../lib/islands.ts";
 *
 * function Counter(props: { start: number }) {
 *   const n = useSignal(props.start); // islands create their own signals
 *   return <button type="button" onClick={() => n.value++}>{n}</button>;
 * }
 * export default island("Counter", Counter);
 * ```
 *
 * On the server the island renders inside a marker element,
 * `<ll-island data-island="Counter" data-props='{"start":1}'>…</ll-island>`.
 * The client entry (`client/entry.ts`) finds the markers, loads only the
 * islands present on the page (through the generated `islands/_registry.gen.ts`)
 * and calls {@linkcode hydrateIslands}.
 *
 * Rules:
 * - The name given to `island()` must equal the file name (`Counter.tsx`).
 * - Props must be JSON data (strings, finite numbers, booleans, null, arrays,
 *   plain objects). Functions, signals, Dates, class instances and JSX
 *   children are rejected with an error at server render time: an island
 *   creates its own signals and handlers from plain props.
 * - An island rendered inside another island is hydrated as part of its parent
 *   (no marker of its own), so there it may take any props.
 * - The marker needs `ll-island{display:contents}`; the build adds that rule
 *   to the front of the stylesheet.
 * @module
 */
import { createContext, type FunctionComponent, h, hydrate, type JSX } from "preact";
import { useContext } from "preact/hooks";

/** Tag name of the server-rendered marker element around each island. */
export const ISLAND_TAG = "ll-island";

/** What {@linkcode island} attaches to its result as `__island`. */
export interface IslandInfo<P> {
  /** Island name; equals the file name in `islands/` and the registry key. */
  name: string;
  /** The plain component, which the client hydrates. */
  Component: FunctionComponent<P>;
}

/** A component made by {@linkcode island}. */
export type IslandComponent<P> = FunctionComponent<P> & { __island: IslandInfo<P> };

/** Shape of `islands/_registry.gen.ts`: island name to lazy module loader. */
export type IslandRegistry = Record<string, () => Promise<{ default: unknown }>>;

type Props = Record<string, unknown>;

/** True while the server renders the inside of an island. */
const InIsland = createContext(false);

/**
 * Makes `Component` an island called `name` (the file name without extension).
 *
 * When rendered on the server (no global `document`) the result renders a
 * marker element carrying `name` and the JSON of its props around
 * `Component`; it throws if the props are not JSON data (see
 * {@linkcode assertJsonProps}). In the browser it renders `Component` as is.
 */
export function island<P>(name: string, Component: FunctionComponent<P>): IslandComponent<P> {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) {
    throw new Error(`island name "${name}" must be PascalCase, like its file name`);
  }
  const Plain = Component as unknown as FunctionComponent<Props>;
  function Island(props: P): JSX.Element {
    const inner = h(Plain, props as Props);
    // Browser: hydration and later renders use the plain component.
    if (typeof document !== "undefined") return inner;
    // Server, inside another island: that island's hydration covers this one.
    if (useContext(InIsland)) return inner;
    assertJsonProps(name, props);
    return h(
      ISLAND_TAG,
      { "data-island": name, "data-props": JSON.stringify(props) },
      h(InIsland.Provider, { value: true }, inner),
    );
  }
  Island.displayName = `Island(${name})`;
  return Object.assign(Island, { __island: { name, Component } });
}

/**
 * Throws a descriptive error unless `props` is JSON data that survives
 * `JSON.stringify`/`JSON.parse` unchanged. `undefined` object members are
 * allowed (they are dropped, like an absent prop).
 */
export function assertJsonProps(name: string, props: unknown): void {
  const problem = findNonJson(props, "", new Set());
  if (problem) {
    throw new TypeError(
      `island "${name}": prop ${problem}. Island props must be JSON data; ` +
        `pass plain values and create signals and handlers inside the island.`,
    );
  }
}

/** Returns "path is …" for the first non-JSON value, or null. */
function findNonJson(value: unknown, path: string, seen: Set<object>): string | null {
  const at = path === "" ? "(props)" : `"${path}"`;
  switch (typeof value) {
    case "string":
    case "boolean":
      return null;
    case "number":
      return Number.isFinite(value) ? null : `${at} is ${value}`;
    case "object":
      break;
    default:
      return `${at} is a ${typeof value}`;
  }
  if (value === null) return null;
  if (seen.has(value)) return `${at} is a circular reference`;
  const proto = Object.getPrototypeOf(value);
  const record = value as Record<string | symbol, unknown>;
  if (record.brand === Symbol.for("preact-signals")) return `${at} is a signal`;
  if (proto === Object.prototype && "constructor" in record && record.constructor === undefined) {
    return `${at} is a JSX element (islands cannot take children)`;
  }
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) {
    return `${at} is a ${proto?.constructor?.name ?? "non-plain object"}`;
  }
  seen.add(value);
  const prefix = path === "" ? "" : path + ".";
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined && !Array.isArray(value)) continue;
    const problem = item === undefined
      ? `"${prefix}${key}" is undefined in an array`
      : findNonJson(item, prefix + key, seen);
    if (problem) return problem;
  }
  seen.delete(value);
  return null;
}

/**
 * Hydrates every island marker under `root`: loads each island present
 * through `registry` (in parallel, once per name) and calls preact's
 * `hydrate` on its marker with the serialised props. Marks each hydrated
 * marker with a `data-hydrated` attribute. A failing island is logged and
 * does not stop the others. Resolves to the number of islands hydrated.
 */
export async function hydrateIslands(
  registry: IslandRegistry,
  root: ParentNode = document,
): Promise<number> {
  const markers = Array.from(root.querySelectorAll<HTMLElement>(`${ISLAND_TAG}[data-island]`));
  const results = await Promise.all(markers.map(async (marker) => {
    const name = marker.getAttribute("data-island") ?? "";
    try {
      const load = registry[name];
      if (!load) throw new Error(`no islands/${name}.tsx in the registry (rebuild?)`);
      const exported = (await load()).default as Partial<IslandComponent<unknown>>;
      const info = exported?.__island;
      if (!info) throw new Error(`islands/${name}.tsx must export default island(...)`);
      if (info.name !== name) {
        throw new Error(`islands/${name}.tsx calls island("${info.name}"): names must match`);
      }
      const props = JSON.parse(marker.getAttribute("data-props") ?? "{}");
      hydrate(h(info.Component as FunctionComponent<Props>, props), marker);
      marker.setAttribute("data-hydrated", "");
      return 1;
    } catch (err) {
      console.error(`island "${name}" failed to hydrate:`, err);
      return 0;
    }
  }));
  return results.reduce<number>((sum, n) => sum + n, 0);
}
