/**
 * In-app delivery is confirmed: a notification routed in-app only (the page
 * looked visible) is pushed after all when no open page acknowledges it within
 * ACK_TIMEOUT_MS, e.g. because the phone's connection dropped silently and the
 * server has not noticed yet. An acknowledged one is never pushed.
 * @module
 */
import assert from "node:assert/strict";
import { openSocket, resident, type TestSocket } from "./support/harness.ts";
import { startWebPushTesting } from "./support/push_service.ts";
import {
  act,
  addWebPushDevice,
  assertPushCountStays,
  type Json,
  machineOf,
  startNotifyServer,
  waitForPayload,
} from "./support/notify_kit.ts";

async function visible(ws: TestSocket): Promise<void> {
  const t = Math.floor(Math.random() * 1e9);
  ws.send({ type: "visibility", visible: true });
  ws.send({ type: "ping", t });
  await ws.next((m) => m.type === "pong" && m.t === t, 3000);
}

const isDone = (m: Json) =>
  m.type === "event" && m.event.type === "notification" && m.event.data?.item?.kind === "use.done";

Deno.test("in-app only, unacknowledged → pushed after the ack timeout; acknowledged → never pushed", async () => {
  await using push = await startWebPushTesting();
  await using srv = await startNotifyServer({
    MINUTE_MS: "500",
    ACK_TIMEOUT_MS: "700",
    PUSH_ENDPOINT_ALLOW: push.origin,
  });
  const a = await resident(srv.url, "ackuser");
  const { sub } = await addWebPushDevice(a, push);
  const ws = openSocket(srv.url, a.cookie);
  try {
    await ws.hello;
    await visible(ws);

    // 1. The page receives the event but never confirms it: the push follows.
    const w1 = await machineOf(a, "washer", 0);
    const s1 = await act(a, w1.id, "start", { minutes: 1 });
    const ev1 = await ws.next(isDone, 5000);
    const receivedAt = Date.now();
    const { payload: p1 } = await waitForPayload(
      push,
      sub.clientHash,
      (p) => p.id === `use.done:${s1.useId}`,
      5000,
    );
    assert.equal(p1.kind, "use.done");
    assert.ok(Date.now() - receivedAt >= 500, "the push waited for the ack timeout");
    assert.equal(ev1.event.data.item.id, p1.id);

    // 2. The page confirms it at once: no push, ever.
    const w2 = await machineOf(a, "washer", 1);
    const s2 = await act(a, w2.id, "start", { minutes: 1 });
    const ev2 = await ws.next(isDone, 5000);
    ws.send({ type: "ack", ids: [ev2.event.data.item.id] });
    assert.equal(ev2.event.data.item.id, `use.done:${s2.useId}`);
    await assertPushCountStays(push, sub.clientHash, 1, 1500);
  } finally {
    await ws.close();
  }
});

Deno.test("a malformed ack is refused and the socket stays open", async () => {
  await using srv = await startNotifyServer({});
  const a = await resident(srv.url, "ackbad");
  const ws = openSocket(srv.url, a.cookie);
  try {
    await ws.hello;
    ws.send({ type: "ack", ids: [] });
    const err = await ws.next((m) => m.type === "error", 3000);
    assert.equal(err.code, "bad_message");
    ws.send({ type: "ping", t: 7 });
    assert.equal((await ws.next((m) => m.type === "pong", 3000)).t, 7);
  } finally {
    await ws.close();
  }
});
