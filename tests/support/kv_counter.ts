/**
 * A Deno KV handle that counts round trips: every `get`, `getMany`, `set`,
 * `delete`, `enqueue`, each `list` (one per call; a list of more than one
 * batch would take more) and each atomic `commit`. The tests and the bench
 * use it to hold a press of 사용 등록 to its KV budget.
 * @module
 */

/** A counting wrapper and its counters. */
export interface CountingKv {
  kv: Deno.Kv;
  /** Round trips by method since the last reset. */
  counts: Record<string, number>;
  total(): number;
  reset(): void;
}

const CALLS = ["get", "getMany", "set", "delete", "enqueue", "list"] as const;

/** Wrap `kv` so that every round trip is counted. */
export function countingKv(kv: Deno.Kv): CountingKv {
  const counts: Record<string, number> = {};
  const bump = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  const proxy = new Proxy(kv, {
    get(target, prop, _receiver) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if ((CALLS as readonly (string | symbol)[]).includes(prop)) {
        return (...args: unknown[]) => {
          bump(String(prop));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => {
            bump("commit");
            return commit();
          };
          return op;
        };
      }
      return value.bind(target);
    },
  });
  return {
    kv: proxy,
    counts,
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    reset: () => {
      for (const k of Object.keys(counts)) delete counts[k];
    },
  };
}
