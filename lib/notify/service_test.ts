import assert from "node:assert/strict";
import type { LogEvent } from "../db.ts";
import type { Machine } from "../types.ts";
import { ownerNotice } from "./service.ts";

const m: Machine = {
  id: "w1",
  name: "W1",
  kind: "washer",
  room: "r",
  order: 1,
  state: "done",
  ownerId: "u1",
  useId: "use1",
  gen: 2,
  doneAt: 0,
  updatedAt: 0,
};
const ev = (type: string, machine: Machine, data?: Record<string, unknown>): LogEvent => ({
  seq: 1,
  scope: "board",
  type,
  at: 0,
  machine,
  data,
});
const cleared: Machine = { ...m, state: "available", ownerId: undefined, useId: undefined };

Deno.test("ownerNotice: a cycle that ends tells its owner, once per use", () => {
  assert.deepEqual(ownerNotice(ev("machine.done", m), null), {
    userId: "u1",
    id: "use.done:use1",
    kind: "use.done",
    title: "n.done.title",
    body: "n.done.body",
  });
});

Deno.test("ownerNotice: an expired hold tells the holder named in the event", () => {
  const n = ownerNotice(ev("machine.hold_expired", cleared, { ownerId: "u2", useId: "h9" }), null);
  assert.deepEqual([n?.userId, n?.id, n?.kind], ["u2", "hold.expired:h9", "hold.expired"]);
  assert.equal(ownerNotice(ev("machine.hold_expired", cleared), null), null);
});

Deno.test("ownerNotice: a breakdown tells whoever was on the machine, nobody when it was free", () => {
  const broken = { ...cleared, state: "out_of_order" as const };
  assert.equal(ownerNotice(ev("machine.out_of_order", broken), m)?.userId, "u1");
  assert.equal(ownerNotice(ev("machine.out_of_order", broken), cleared), null);
});

Deno.test("ownerNotice: other changes concern nobody", () => {
  for (const type of ["machine.held", "machine.started", "machine.collected", "machine.repaired"]) {
    assert.equal(ownerNotice(ev(type, m), m), null, type);
  }
});
