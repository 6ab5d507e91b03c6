/**
 * The copy-paste examples of docs/SENSORS.md, run against a real server on
 * loopback (issue 10: "document both, with copy-paste examples"). The
 * Shelly script is executed verbatim (only its address and token filled
 * in, as the doc tells the admin to) with the few Shelly calls it makes
 * (`Shelly.getComponentStatus`, `Shelly.call("HTTP.Request")`,
 * `Timer.set`) done by a real `fetch`; the Home Assistant `rest_command`s
 * are read from the doc and their request is sent as Home Assistant renders
 * it. If the doc's examples drift from what the webhook accepts, this fails.
 * @module
 */
import assert from "node:assert/strict";
import { admin, resident } from "./support/harness.ts";
import { machineOf, ok, startNotifyServer } from "./support/notify_kit.ts";

const DOC = new URL("../docs/SENSORS.md", import.meta.url);

/** The fenced blocks of `lang` in the doc, in order. */
async function blocks(lang: string): Promise<string[]> {
  const text = await Deno.readTextFile(DOC);
  return [...text.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
}

/** One `key: value` of a YAML block (the doc's blocks are simple). */
function yamlValue(block: string, key: string): string {
  const m = new RegExp(`^\\s*${key}:\\s*(.*)$`, "m").exec(block);
  assert.ok(m, `no ${key} in\n${block}`);
  return m[1].replace(/\s+#.*$/, "").trim();
}

/** Run the doc's Shelly script against `url` with `token`, the plug measuring `apower`. */
async function runShelly(
  script: string,
  url: string,
  token: string,
  apower: number,
): Promise<{ status: number; json: Record<string, unknown> }[]> {
  assert.match(script, /let URL = "https:\/\/laundry\.example\.org\/api\/sensors\/MACHINE_ID";/);
  assert.match(script, /let TOKEN = "PASTE-THE-TOKEN-HERE";/);
  const code = script
    .replace("https://laundry.example.org/api/sensors/MACHINE_ID", url)
    .replace("PASTE-THE-TOKEN-HERE", token);
  const sent: Promise<{ status: number; json: Record<string, unknown> }>[] = [];
  const timers: { ms: number; repeat: boolean }[] = [];
  const Shelly = {
    getComponentStatus(component: string) {
      assert.equal(component, "switch:0");
      return { id: 0, source: "init", output: true, apower, voltage: 229.8, current: 0.9 };
    },
    call(method: string, params: Record<string, unknown>) {
      assert.equal(method, "HTTP.Request");
      assert.equal(params.method, "POST");
      assert.equal(typeof params.body, "string", "HTTP.Request takes the body as a string");
      sent.push(
        fetch(String(params.url), {
          method: "POST",
          headers: params.headers as Record<string, string>,
          body: params.body as string,
        }).then(async (r) => ({ status: r.status, json: await r.json() })),
      );
    },
  };
  const Timer = {
    set(ms: number, repeat: boolean, _fn: () => void) {
      timers.push({ ms, repeat });
    },
  };
  new Function("Shelly", "Timer", code)(Shelly, Timer);
  assert.deepEqual(timers, [{ ms: 30_000, repeat: true }], "every 30 s");
  return await Promise.all(sent);
}

Deno.test("docs/SENSORS.md: the Shelly script, run as pasted, posts readings the webhook takes", async () => {
  await using srv = await startNotifyServer();
  const adm = await admin(srv.url);
  const res = await resident(srv.url, "docs-shelly", "401");
  const m = await machineOf(res, "washer");
  const token = ok(await adm.post(`/api/admin/machines/${m.id}/sensor`, {})).token as string;
  const [script, ...others] = await blocks("js");
  assert.equal(others.length, 0, "one Shelly script");

  const answers = await runShelly(script, `${srv.url}/api/sensors/${m.id}`, token, 212.4);
  assert.deepEqual(answers, [{ status: 200, json: { ok: true, facts: [] } }]);
  const rec = await srv.ctx.store.getSensor(res.user.buildingId, m.id);
  assert.equal(rec?.det.lastWatts, 212.4);

  // The variant the doc offers: the whole switch status as the body.
  const whole = 'body: JSON.stringify(Shelly.getComponentStatus("switch:0"))';
  const text = await Deno.readTextFile(DOC);
  assert.ok(text.includes("`" + whole + "`"), "the doc names the variant");
  const variant = script.replace("body: JSON.stringify({ watts: s.apower })", whole);
  assert.notEqual(variant, script);
  await new Promise((r) => setTimeout(r, 5)); // a newer reading than the last one
  const again = await runShelly(variant, `${srv.url}/api/sensors/${m.id}`, token, 3.5);
  assert.deepEqual(again, [{ status: 200, json: { ok: true, facts: [] } }]);
  assert.equal((await srv.ctx.store.getSensor(res.user.buildingId, m.id))?.det.lastWatts, 3.5);
});

Deno.test("docs/SENSORS.md: the Home Assistant rest_commands send what the webhook takes; unavailable power is not sent", async () => {
  await using srv = await startNotifyServer();
  const adm = await admin(srv.url);
  const res = await resident(srv.url, "docs-hass", "402");
  const m = await machineOf(res, "washer", 1);
  const token = ok(await adm.post(`/api/admin/machines/${m.id}/sensor`, {})).token as string;
  const yaml = await blocks("yaml");
  assert.equal(yaml.length, 2, "the power command with its automation, then the state one");
  const [power, state] = yaml;

  /** Send a rest_command of the doc the way Home Assistant does, its payload rendered. */
  const send = async (block: string, payload: string) => {
    const url = yamlValue(block, "url").replace(/^"|"$/g, "");
    assert.equal(url, "https://laundry.example.org/api/sensors/MACHINE_ID");
    assert.equal(yamlValue(block, "method"), "POST");
    assert.equal(yamlValue(block, "content_type").replace(/^"|"$/g, ""), "application/json");
    // `!secret laundrylive_washer_1`: secrets.yaml holds the whole value, "Bearer <token>".
    assert.equal(yamlValue(block, "Authorization"), "!secret laundrylive_washer_1");
    assert.match(await Deno.readTextFile(DOC), /in secrets\.yaml: "Bearer <token>"/);
    const r = await fetch(
      url.replace("https://laundry.example.org", srv.url).replace(
        "MACHINE_ID",
        m.id,
      ),
      {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: payload,
      },
    );
    return { status: r.status, json: await r.json() };
  };

  // The power payload, rendered for a reading of 212.4 W (`states()` is a string; float(0)).
  const template = yamlValue(power, "payload");
  assert.equal(template, `'{"watts": {{ states("sensor.washer_1_power") | float(0) }}}'`);
  const render = (w: string) => `{"watts": ${Number.isFinite(Number(w)) ? Number(w) : 0}}`;
  assert.deepEqual(await send(power, render("212.4")), {
    status: 200,
    json: { ok: true, facts: [] },
  });
  // While the plug is unavailable the template would render 0 W, which looks like the end of a
  // cycle: the automation's condition keeps it from being sent at all.
  assert.equal(render("unavailable"), '{"watts": 0}');
  assert.match(
    power,
    /conditions:\n\s+- condition: template\n\s+value_template: "\{\{ has_value\('sensor\.washer_1_power'\) \}\}"/,
  );
  assert.match(power, /seconds: "\/30"/, "every 30 s");

  // The state payload (a folded scalar), rendered for `on` and `off`.
  const folded = /payload: >-\n\s+(.*)\n/.exec(state);
  assert.ok(folded, state);
  assert.equal(
    folded[1],
    `{"state": "{{ 'running' if is_state('binary_sensor.washer_1_running', 'on') else 'idle' }}"}`,
  );
  const renderState = (on: boolean) => folded[1].replace(/\{\{.*\}\}/, on ? "running" : "idle");
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(await send(state, renderState(true)), {
    status: 200,
    json: { ok: true, facts: ["started"], state: "in_use" },
  });
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(await send(state, renderState(false)), {
    status: 200,
    json: { ok: true, facts: ["ended"], state: "done" },
  });
});
