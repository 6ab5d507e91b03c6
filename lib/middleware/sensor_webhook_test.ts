import assert from "node:assert/strict";
import { Hono } from "hono";
import { type AppEnv, csrf, toErrorResponse } from "../http.ts";
import { exceptSensorWebhook, isSensorWebhook } from "./sensor_webhook.ts";

Deno.test("isSensorWebhook: exactly POST /api/sensors/<machine id>", () => {
  assert.equal(isSensorWebhook("POST", "/api/sensors/abcd1234"), true);
  for (
    const [method, path] of [
      ["PUT", "/api/sensors/abcd1234"],
      ["DELETE", "/api/sensors/abcd1234"],
      ["PATCH", "/api/sensors/abcd1234"],
      ["POST", "/api/sensors/abcd1234/"],
      ["POST", "/api/sensors/abcd1234/extra"],
      ["POST", "/api/sensors/"],
      ["POST", "/api/sensors"],
      ["POST", "/api/sensors/ABCD1234"],
      ["POST", "/api/sensors/abc"],
      ["POST", "/api/sensors/abcd%2F..%2Fadmin"],
      ["POST", "/api/sensorsabcd1234"],
      ["POST", "/api/admin/machines/abcd1234/sensor"],
      ["POST", "/x/api/sensors/abcd1234"],
      ["POST", "/api/machines/abcd1234/start"],
    ] as const
  ) {
    assert.equal(isSensorWebhook(method, path), false, `${method} ${path}`);
  }
});

Deno.test("exceptSensorWebhook: the CSRF guard runs for every other request", async () => {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => toErrorResponse(c, err));
  app.use("/api/*", exceptSensorWebhook(csrf()));
  app.post("/api/sensors/:id", (c) => c.json({ through: c.req.param("id") }));
  app.post("/api/sensors/:id/x", (c) => c.json({ through: "x" }));
  app.post("/api/machines/:id/start", (c) => c.json({ through: "start" }));
  const cross = (path: string) =>
    app.request(`http://app.test${path}`, {
      method: "POST",
      headers: { origin: "http://evil.example", "content-type": "text/plain" },
      body: "{}",
    });
  const ok = await cross("/api/sensors/abcd1234");
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { through: "abcd1234" });
  for (const path of ["/api/sensors/abcd1234/x", "/api/machines/abcd1234/start"]) {
    const r = await cross(path);
    assert.equal(r.status, 403, path);
    assert.equal((await r.json()).error.code, "cross_origin");
  }
});
