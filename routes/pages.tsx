/**
 * Server-rendered pages (Preact → HTML) and built assets. Pages are thin:
 * they load what the page shows from `lib/` and hand it to islands as props.
 * @module
 */
import { currentBuilding } from "../lib/middleware/building.ts";
import { administers, mayEnterSeveral } from "../lib/roles.ts";
import { sameOriginPath } from "../lib/safe_redirect.ts";
import type { Context, Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import type { Mount } from "../lib/context.ts";
import { assetTags, loadManifest, serveBuilt } from "../lib/assets.ts";
import type { AppContext } from "../lib/context.ts";
import {
  type AppEnv,
  isSameOrigin,
  isSocketPath,
  isStaticPath,
  SESSION_COOKIE,
} from "../lib/http.ts";
import { LANG_COOKIE, saveLanguage } from "../lib/user_language.ts";
import { type MessageKey, t } from "../lib/i18n.ts";
import { publicUser } from "../lib/db/mod.ts";
import { Layout, type LayoutProps } from "../components/Layout.tsx";
import Board from "../islands/Board.tsx";
import AuthForm, { safeNext } from "../islands/AuthForm.tsx";
import { inboxPage } from "./pages/inbox.tsx";
import { reportPage } from "./pages/report.tsx";
import { settingsPage } from "./pages/settings.tsx";
import { adminPage } from "./pages/admin.tsx";
import { operatorPage } from "./pages/operator.tsx";
import { busyPage, usagePage } from "./pages/busy.tsx";
import { qrPage } from "./pages/qr.tsx";
import type { User } from "../lib/types.ts";

/** What a page module returns: the title key, nav item and body. */
export interface PageContent {
  title: MessageKey;
  active?: LayoutProps["active"];
  body: VNode;
  /** Message files of its own besides the common one (lib/build.ts `messagePart`). */
  parts?: string[];
  /** The unread count, when the page has it already (else the layout counts). */
  unread?: number;
  /** The HTTP status (default 200; e.g. 404 for a machine of another building). */
  status?: 200 | 404;
}

/** Most buildings the header's switcher lists (the operator console lists them all). */
export const SWITCHER_MAX = 100;

/** A page module: renders the body for the signed-in user. */
export type PageFn = (c: Context<AppEnv>, ctx: AppContext) => Promise<PageContent>;

/** Mount the pages and asset serving. */
export async function pageRoutes(ctx: AppContext): Promise<Mount> {
  const manifest = await loadManifest();
  const serve = serveBuilt(manifest);

  /**
   * The buildings an account may switch between (as `GET /api/me` lists them):
   * none for an account with one building.
   */
  async function choices(user: User | null): Promise<{ id: string; name: string }[]> {
    if (!user || !mayEnterSeveral(user)) return [];
    return (await ctx.store.buildingsOf(user)).map((b) => ({ id: b.id, name: b.name }));
  }

  /** User agents that may be iOS or iPadOS (whose push needs the home-screen app). */
  const APPLE_UA = /iPhone|iPad|iPod|Macintosh/;

  async function render(c: Context<AppEnv>, page: PageContent, status = 200) {
    const lang = c.get("lang");
    const user = c.get("user");
    const [unread, buildings] = await Promise.all([
      page.unread ?? (user ? ctx.store.unreadCount(user.id) : 0),
      choices(user),
    ]);
    const bid = c.get("buildingId") ?? "";
    // A long list keeps its first entries and the current building.
    const shown = buildings.length > SWITCHER_MAX
      ? [
        ...buildings.slice(0, SWITCHER_MAX).filter((b) => b.id !== bid),
        ...buildings.filter((b) => b.id === bid),
      ]
      : buildings;
    const html = "<!doctype html>" + renderToString(
      <Layout
        lang={lang}
        title={t(lang, page.title)}
        assets={assetTags(manifest, lang, {
          parts: [
            ...(page.parts ??
              (page.active === "admin"
                ? ["-admin", "-report"]
                : page.active === "settings"
                ? ["-settings"]
                : page.active === "inbox"
                ? ["-inbox"]
                : page.active === "operator"
                ? ["-admin", "-operator"]
                : [])),
            // The bell's "add to home screen" guidance: only Apple devices can need it
            // (iPadOS Safari says "Macintosh").
            ...(user && APPLE_UA.test(c.req.header("user-agent") ?? "") ? ["-ios" as const] : []),
          ],
        })}
        user={user ? publicUser(user) : null}
        active={page.active}
        unread={unread}
        buildings={shown.length > 1 ? shown : undefined}
        building={bid}
      >
        {page.body}
      </Layout>,
    );
    return c.html(html, status as 200, {
      "Cache-Control": "no-cache",
      // The service worker learns the user's language from it (its offline page speaks it).
      "Content-Language": lang,
      "Vary": "Cookie, Accept-Language",
    });
  }

  /**
   * Pages that need a signed-in user redirect to /login otherwise; those for
   * admins (of the building the request acts in) or the operator answer 403
   * to anyone else.
   */
  function signedIn(fn: PageFn, need?: "admin" | "operator") {
    return async (c: Context<AppEnv>) => {
      const user = c.get("user");
      if (!user) {
        // Come back here after signing in (a deep link such as /admin or /?m=…).
        const url = new URL(c.req.url);
        const here = url.pathname + url.search;
        const q = new URLSearchParams();
        if (here !== "/") q.set("next", here);
        // A session cookie that no longer works: the session ended (expired, signed out
        // elsewhere, password reset, account disabled). Say so on the login page.
        if (getCookie(c, SESSION_COOKIE)) q.set("ended", "1");
        const qs = q.toString();
        return c.redirect(qs ? `/login?${qs}` : "/login", 302);
      }
      if (need === "admin" && !administers(user, c.get("buildingId") ?? "")) {
        return render(c, {
          title: "nav.admin",
          body: <p class="banner error">403 · {t(c.get("lang"), "admin.forbidden")}</p>,
        }, 403);
      }
      if (need === "operator" && user.role !== "operator") {
        return render(c, {
          title: "nav.operator",
          body: <p class="banner error">403 · {t(c.get("lang"), "operator.forbidden")}</p>,
        }, 403);
      }
      const page = await fn(c, ctx);
      return render(c, page, page.status ?? 200);
    };
  }

  return (app: Hono<AppEnv>) => {
    app.use("*", async (c, next) => {
      const res = await serve(c.req.raw);
      if (res) return res;
      await next();
    });

    app.get("/lang/:lang", async (c) => {
      const lang = c.req.param("lang") === "en" ? "en" : "ko";
      setCookie(c, LANG_COOKIE, lang, { path: "/", sameSite: "Lax", maxAge: 365 * 86400 });
      // The top-bar toggle is the saved preference too (pages, toasts, inbox, pushes), but only
      // when the click came from this site: a link elsewhere must not change someone's settings.
      const user = c.get("user");
      if (user && isSameOrigin(c.req.raw, ctx.config.allowedOrigins)) {
        await saveLanguage(ctx.store, user.id, lang);
      }
      // Back to the page the toggle was on, on our own origin only (never `//evil`).
      return c.redirect(sameOriginPath(c.req.header("referer"), new URL(c.req.url).origin), 302);
    });

    app.get("/login", (c) => {
      if (c.get("user")) return c.redirect(safeNext(c.req.query("next")), 302);
      const lang = c.get("lang");
      return render(c, {
        title: "login.title",
        parts: ["-auth"],
        body: (
          <section class="narrow">
            <h1>{t(lang, "login.title")}</h1>
            {c.req.query("ended") && (
              <p class="banner warn" role="status" data-session-ended>
                {t(lang, "login.session_ended")}
              </p>
            )}
            <AuthForm mode="login" lang={lang} next={safeNext(c.req.query("next"))} />
          </section>
        ),
      });
    });

    app.get("/register", (c) => {
      if (c.get("user")) return c.redirect("/", 302);
      const lang = c.get("lang");
      return render(c, {
        title: "register.title",
        parts: ["-auth"],
        body: (
          <section class="narrow">
            <h1>{t(lang, "register.title")}</h1>
            <AuthForm mode="register" lang={lang} invite={c.req.query("invite")?.slice(0, 40)} />
          </section>
        ),
      });
    });

    app.get("/reset", (c) => {
      const lang = c.get("lang");
      return render(c, {
        title: "reset.title",
        parts: ["-auth"],
        body: (
          <section class="narrow">
            <h1>{t(lang, "reset.title")}</h1>
            <p class="muted">{t(lang, "reset.help")}</p>
            <AuthForm mode="reset" lang={lang} resetCode={c.req.query("code")?.slice(0, 40)} />
          </section>
        ),
      });
    });

    app.get(
      "/",
      signedIn(async (c) => {
        const user = c.get("user")!;
        const lang = c.get("lang");
        const bid = currentBuilding(c);
        const [{ cursor, machines, waitlists: queues }, building] = await Promise.all([
          ctx.store.boardAt(user.id, bid),
          ctx.store.getBuilding(bid),
        ]);
        const focus = c.req.query("m");
        return {
          title: "board.title",
          active: "board",
          body: (
            <Board
              machines={machines}
              rooms={building?.rooms ?? []}
              buildingName={building?.name ?? ""}
              cursor={cursor}
              serverTime={Date.now()}
              me={{ id: user.id, name: user.name }}
              lang={lang}
              settings={{
                minuteMs: ctx.store.settings.minuteMs,
                pickupGraceMinutes: ctx.store.settings.pickupGraceMinutes,
                nudgeCooldownMinutes: ctx.store.settings.nudgeCooldownMinutes,
              }}
              queues={queues}
              focus={focus && /^[0-9a-z]{4,32}$/.test(focus) ? focus : undefined}
            />
          ),
        };
      }),
    );

    app.get("/inbox", signedIn(inboxPage));
    app.get("/settings", signedIn(settingsPage));
    app.get("/admin", signedIn(adminPage, "admin"));
    app.get("/report", signedIn(reportPage));
    app.get("/operator", signedIn(operatorPage, "operator"));
    app.get("/busy", signedIn(busyPage));
    app.get("/admin/usage", signedIn(usagePage, "admin"));
    app.get("/admin/qr", signedIn(qrPage, "admin"));

    // Any other page: a styled, translated 404 that leads back (the API keeps its JSON 404).
    app.get("*", async (c, next) => {
      const path = c.req.path;
      if (path.startsWith("/api/") || isSocketPath(path) || isStaticPath(path)) return await next();
      const lang = c.get("lang");
      const signed = !!c.get("user");
      return await render(c, {
        title: "notfound.title",
        body: (
          <section class="narrow offline-page" data-not-found>
            <h1>{t(lang, "notfound.title")}</h1>
            <p>{t(lang, "notfound.body")}</p>
            <p>
              <a class="button primary" href={signed ? "/" : "/login"}>
                {t(lang, signed ? "offline.to_board" : "login.title")}
              </a>
            </p>
          </section>
        ),
      }, 404);
    });
  };
}
