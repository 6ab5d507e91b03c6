/**
 * `node:crypto`, imported on first use: loading the first `node:` module
 * boots Deno's Node compatibility layer (~50 ms of CPU), which a server
 * start need not wait for. Session hashes and signatures, VAPID JWTs and
 * push key pairs all take it from here.
 * @module
 */

/** The `node:crypto` module. */
export type NodeCrypto = typeof import("node:crypto");

let loaded: NodeCrypto | null = null;
let loading: Promise<NodeCrypto> | null = null;

/** `node:crypto`, imported on the first call. */
export function nodeCrypto(): Promise<NodeCrypto> {
  return loading ??= import("node:crypto").then((m) => (loaded = m));
}

/**
 * `node:crypto` if it is already loaded, else null: for hot paths that
 * would rather not wait a promise turn per call once it is there.
 */
export function nodeCryptoIfLoaded(): NodeCrypto | null {
  return loaded;
}
