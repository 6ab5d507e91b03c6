/**
 * Phone-size screenshots of the app for the docs, taken with headless
 * Chromium (`/usr/bin/chromium`) through playwright-core:
 *
 *     deno run -A tools/screenshots.ts            # every shot
 *     deno run -A tools/screenshots.ts inbox      # only the named shots
 *
 * It builds the assets, starts its own server on a free port with a
 * temporary KV, seeds a demo building through the API (and a few timestamps
 * straight in the store, so a cycle can look 12 minutes overdue without
 * waiting), then saves `docs/screenshots/<name>.png` at 390×844 CSS px.
 *
 * To add a shot, append to {@linkcode SHOTS} (or pass `extra` to
 * {@linkcode takeScreenshots} from your own script): a name, the user, the
 * language, the path, and optionally what to do on the page first.
 * @module
 */
import type { Page } from "playwright-core";
import config from "../fresh.config.ts";
import { buildAssets } from "../lib/build.ts";
import { newId } from "../lib/ids.ts";
import { K, statScope } from "../lib/keys.ts";
import type { InboxItem, Machine } from "../lib/types.ts";
import { startAppServer } from "../tests/support/browser.ts";
import { seedHistory } from "../tests/support/usage_kit.ts";
import { admin, Client, resident } from "../tests/support/harness.ts";
import type { TestServer } from "../tests/support/harness.ts";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../tests/support/browser.ts";

/** The seeded demo: who is signed in as whom. */
export interface Demo {
  srv: TestServer;
  /** `admin` is the operator; `dana` lives in the two-room building 해오름관. */
  users: Record<"alice" | "bob" | "admin" | "dana", Client>;
  machines: Machine[];
}

/** One screenshot. */
export interface Shot {
  /** File name without `.png`, in `docs/screenshots/`. */
  name: string;
  /** Who is signed in. */
  as: keyof Demo["users"];
  lang: "ko" | "en";
  path: string;
  /** Runs on the loaded page before the shot (open a panel, scroll, …). */
  before?: (page: Page, demo: Demo) => Promise<void>;
  /** Capture the whole scrollable page instead of one phone screen. */
  fullPage?: boolean;
  /** Viewport width in CSS px (default 390; check 360 too). */
  width?: number;
  /** `prefers-color-scheme` (default light). */
  colorScheme?: "light" | "dark";
}

/** The shots this tool takes by default. */
export const SHOTS: Shot[] = [
  { name: "board-ko", as: "alice", lang: "ko", path: "/" },
  { name: "board-en", as: "alice", lang: "en", path: "/" },
  { name: "board-dark", as: "alice", lang: "ko", path: "/", colorScheme: "dark" },
  { name: "inbox", as: "alice", lang: "ko", path: "/inbox" },
  {
    name: "board-rooms",
    as: "dana",
    lang: "ko",
    path: "/",
    // Dana pins her room (B동 지하): it comes first.
    before: async (page) => {
      await page.click('[data-pin="B동 지하"]');
      await page.waitForSelector('[data-room="B동 지하"]:first-of-type [aria-pressed="true"]');
    },
  },
  { name: "operator", as: "admin", lang: "ko", path: "/operator" },
  { name: "busy", as: "alice", lang: "ko", path: "/busy" },
  { name: "busy-dark", as: "alice", lang: "en", path: "/busy", colorScheme: "dark" },
  { name: "busy-wide", as: "alice", lang: "ko", path: "/busy", width: 1280, fullPage: true },
  { name: "admin-usage", as: "admin", lang: "ko", path: "/admin/usage" },
  {
    name: "admin-usage-wide",
    as: "admin",
    lang: "ko",
    path: "/admin/usage",
    width: 1280,
    fullPage: true,
  },
];

const MIN = 60_000;

/** Shift a machine's timing into the past, as if `minutesAgo` had passed. */
async function age(demo: Demo, id: string, minutesAgo: number): Promise<void> {
  const kv = demo.srv.ctx.store.kv;
  const bid = demo.users.alice.user.buildingId;
  const entry = await kv.get<Machine>(K.machine(bid, id));
  const m = entry.value ?? (await kv.get<Machine>(K.machine(demo.users.dana.user.buildingId, id)))
    .value!;
  const d = minutesAgo * MIN;
  const shifted: Machine = {
    ...m,
    startedAt: m.startedAt !== undefined ? m.startedAt - d : undefined,
    endsAt: m.endsAt !== undefined ? m.endsAt - d : undefined,
    holdExpiresAt: m.holdExpiresAt !== undefined ? m.holdExpiresAt - d : undefined,
  };
  await kv.set(K.machine(m.buildingId, id), shifted);
}

async function ok(p: Promise<{ status: number; json: unknown }>, what: string): Promise<void> {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.json)}`);
}

/**
 * Start a server and seed the demo building: washer 1 is Alice's with 28
 * minutes left, washer 2 is Bob's and done 12 minutes ago, washer 3 is held
 * by Bob, washer 4 is out of order, dryer 1 is free, dryer 2 is Bob's with
 * 44 minutes left; Alice's inbox has a few notifications, some read; four
 * weeks of usage history (busy hours) and delivery counters. The
 * operator runs two more buildings: 해오름관 with two laundry rooms, where
 * Dana lives, and 은행나무 아파트.
 */
export async function seedDemo(): Promise<Demo> {
  await buildAssets(config);
  const srv = await startAppServer();
  const alice = await resident(srv.url, "alice", "301");
  const bob = await resident(srv.url, "bob", "502");
  const adm = await admin(srv.url);
  const dana = new Client(srv.url);
  const demo: Demo = { srv, users: { alice, bob, admin: adm, dana }, machines: [] };
  const list = (await alice.get("/api/machines")).json.machines as Machine[];
  const washers = list.filter((m) => m.kind === "washer");
  const dryers = list.filter((m) => m.kind === "dryer");
  const [w1, w2, w3, w4] = washers;
  await ok(alice.post(`/api/machines/${w1.id}/start`, { minutes: 40 }), "start w1");
  await age(demo, w1.id, 12);
  await ok(bob.post(`/api/machines/${w2.id}/start`, { minutes: 38 }), "start w2");
  await age(demo, w2.id, 50);
  await ok(bob.post(`/api/machines/${w3.id}/hold`, {}), "hold w3");
  await age(demo, w3.id, 3);
  await ok(
    adm.post(`/api/admin/machines/${w4.id}/out_of_order`, { reason: "문이 안 닫혀요" }),
    "out of order w4",
  );
  await ok(bob.post(`/api/machines/${dryers[1].id}/start`, { minutes: 60 }), "start d2");
  await age(demo, dryers[1].id, 16);

  const store = srv.ctx.store;
  const now = Date.now();
  const items: Omit<InboxItem, "id">[] = [
    {
      kind: "use.ending_soon",
      title: `${w1.name} 5분 남았어요`,
      body: "곧 끝나요. 세탁물 수거를 준비해 주세요.",
      url: `/?m=${w1.id}`,
      tag: `m-${w1.id}`,
      machineId: w1.id,
      createdAt: now - 3 * MIN,
    },
    {
      kind: "notice",
      title: "내일 오전 세탁실 청소",
      body: "9시부터 10시까지 세탁실을 청소해요. 그 시간에는 사용할 수 없어요.",
      url: "/inbox",
      tag: "n-demo",
      critical: true,
      createdAt: now - 47 * MIN,
    },
    {
      kind: "machine.free",
      title: "빈 건조기가 생겼어요",
      body: `${dryers[0].name}을(를) 지금 사용할 수 있어요.`,
      url: `/?m=${dryers[0].id}`,
      tag: "free",
      createdAt: now - 3 * 60 * MIN,
      readAt: now - 2 * 60 * MIN,
    },
    {
      kind: "use.done",
      title: `${w1.name} 완료!`,
      body: "다 끝났어요. 이웃을 위해 빨리 꺼내 주세요.",
      url: `/?m=${w1.id}`,
      tag: `m-${w1.id}`,
      machineId: w1.id,
      createdAt: now - 26 * 60 * MIN,
      readAt: now - 25 * 60 * MIN,
    },
  ];
  const bid = alice.user.buildingId;
  for (const item of items) {
    await store.addToInbox(alice.user.id, bid, { id: newId(10), ...item });
  }
  demo.machines = await store.listMachines(bid);
  // Four weeks of use for the busy-hours pages, and the delivery counters they had.
  const history = await seedHistory(store.kv, bid, demo.machines, { seed: 11 });
  await store.countDelivery([statScope(bid)], {
    recipients: history.records.length + history.nudges.length,
    inApp: Math.round(history.records.length * 0.3),
    pushed: Math.round(history.records.length * 0.7) + history.nudges.length,
    held: 9,
    failed: 4,
    pruned: 1,
  });

  // More buildings for the operator: one with two laundry rooms (Dana's), one plain.
  const made = await adm.post("/api/operator/buildings", {
    name: "해오름관",
    washers: 3,
    dryers: 2,
    rooms: ["1층 세탁실", "B동 지하"],
  });
  if (made.status !== 201) throw new Error(`building: ${made.status}`);
  const hid = made.json.building.id;
  for (
    const [name, kind] of [["세탁기 4", "washer"], ["세탁기 5", "washer"], ["건조기 3", "dryer"]]
  ) {
    await ok(
      adm.post(`/api/admin/machines?building=${hid}`, { name, kind, room: "B동 지하" }),
      "add machine",
    );
  }
  await ok(dana.register("dana", "다나", "705", { inviteCode: made.json.inviteCode }), "dana");
  const eun = new Client(srv.url);
  await ok(eun.register("eun", "은", "204", { inviteCode: made.json.inviteCode }), "eun");
  const hall = (await dana.get("/api/machines")).json.machines as Machine[];
  const named = (n: string) => hall.find((m) => m.name === n || m.name.startsWith(`${n} ·`))!.id;
  await ok(dana.post(`/api/machines/${named("세탁기 4")}/start`, { minutes: 40 }), "start 4");
  await age(demo, named("세탁기 4"), 9);
  await ok(eun.post(`/api/machines/${named("세탁기 1")}/start`, { minutes: 35 }), "start 1");
  await ok(eun.post(`/api/machines/${named("건조기 1")}/start`, { minutes: 60 }), "start d1");
  await ok(
    adm.post(`/api/admin/machines/${named("세탁기 3")}/out_of_order?building=${hid}`, {
      reason: "배수 불량",
    }),
    "out of order",
  );
  await ok(adm.post(`/api/operator/buildings/${hid}/admins`, { loginId: "bob" }), "appoint");
  await ok(
    adm.post("/api/operator/buildings", { name: "은행나무 아파트", washers: 6, dryers: 4 }),
    "building 3",
  );
  return demo;
}

/** Options of {@linkcode takeScreenshots}. */
export interface ScreenshotOptions {
  /** Only these shot names (default: all). */
  only?: string[];
  /** More shots, after {@linkcode SHOTS}. */
  extra?: Shot[];
  /** Output folder (default `docs/screenshots/`). */
  outDir?: string;
}

/** Take the shots; returns the files written. */
export async function takeScreenshots(opts: ScreenshotOptions = {}): Promise<string[]> {
  const shots = [...SHOTS, ...(opts.extra ?? [])].filter((s) =>
    !opts.only?.length || opts.only.includes(s.name)
  );
  const outDir = opts.outDir ?? new URL("../docs/screenshots/", import.meta.url).pathname;
  await Deno.mkdir(outDir, { recursive: true });
  const demo = await seedDemo();
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  const written: string[] = [];
  try {
    for (const shot of shots) {
      const ctx = await browser.newContext({
        viewport: { width: shot.width ?? 390, height: 844 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
        locale: shot.lang === "ko" ? "ko-KR" : "en-GB",
        timezoneId: "Asia/Seoul",
        colorScheme: shot.colorScheme ?? "light",
      });
      const client = demo.users[shot.as];
      // Pages follow the user's saved language (the cookie only for signed-out pages).
      await ok(client.put("/api/preferences", { lang: shot.lang }), "language");
      await ctx.addCookies([
        ...[...client.cookies].map(([name, value]) => ({ name, value, url: demo.srv.url })),
        { name: "lang", value: shot.lang, url: demo.srv.url },
      ]);
      const page = await ctx.newPage();
      await page.goto(demo.srv.url + shot.path);
      await page.waitForSelector("html[data-hydrated]");
      await page.waitForLoadState("networkidle");
      await shot.before?.(page, demo);
      // Let countdowns tick once and fonts settle.
      await page.waitForTimeout(600);
      const file = `${outDir}${shot.name}.png`;
      await page.screenshot({ path: file, fullPage: shot.fullPage ?? false });
      written.push(file);
      await ctx.close();
    }
  } finally {
    await browser.close();
    await demo.srv.close();
  }
  return written;
}

if (import.meta.main) {
  for (const file of await takeScreenshots({ only: Deno.args })) {
    const kb = ((await Deno.stat(file)).size / 1024).toFixed(0);
    console.log(`${file} (${kb} KB)`);
  }
}
