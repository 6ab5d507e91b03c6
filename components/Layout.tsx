/**
 * The HTML shell of every page: head (manifest, icons, iOS meta tags, theme,
 * built assets; no inline script), the top bar with navigation, and the body.
 * @module
 */
import type { ComponentChildren } from "preact";
import { type Lang, t } from "../lib/i18n.ts";
import type { AssetTags } from "../lib/assets.ts";
import type { PublicUser } from "../lib/types.ts";
import NotificationBell from "../islands/NotificationBell.tsx";
import Toasts from "../islands/Toasts.tsx";
import { BuildingSwitcher } from "./BuildingSwitcher.tsx";

/** Props of {@link Layout}. */
export interface LayoutProps {
  lang: Lang;
  title: string;
  assets: AssetTags;
  user: PublicUser | null;
  /** Which nav item is current. */
  active?: "board" | "busy" | "inbox" | "settings" | "admin" | "operator";
  unread?: number;
  /** The buildings this account may switch between (only when there are several). */
  buildings?: { id: string; name: string }[];
  /** The building the page acts in. */
  building?: string;
  children: ComponentChildren;
}

/** The page shell. */
export function Layout(props: LayoutProps) {
  const { lang, user, active } = props;
  const nav = [
    ["board", "/", t(lang, "nav.board")],
    ["busy", "/busy", t(lang, "nav.busy")],
    ["inbox", "/inbox", t(lang, "nav.inbox")],
    ["settings", "/settings", t(lang, "nav.settings")],
    ...(user?.role === "admin" || user?.role === "operator"
      ? [["admin", "/admin", t(lang, "nav.admin")]]
      : []),
    ...(user?.role === "operator" ? [["operator", "/operator", t(lang, "nav.operator")]] : []),
  ] as const;
  return (
    <html lang={lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />
        <title>{`${props.title} · ${t(lang, "app.name")}`}</title>
        <meta name="description" content={t(lang, "app.name")} />
        <meta name="theme-color" content="#0f6fae" />
        <link rel="manifest" href="/manifest.webmanifest" />
        <link rel="icon" href="/icons/favicon.ico" sizes="32x32" />
        <link rel="icon" href="/icons/icon.svg" type="image/svg+xml" />
        <link rel="apple-touch-icon" href="/icons/apple-touch-icon.png" />
        <meta name="apple-mobile-web-app-capable" content="yes" />
        <meta name="mobile-web-app-capable" content="yes" />
        <meta name="apple-mobile-web-app-title" content={t(lang, "app.short")} />
        <meta name="apple-mobile-web-app-status-bar-style" content="default" />
        {props.assets.styles.map((href) => <link key={href} rel="stylesheet" href={href} />)}
        {props.assets.preload.map((href) => <link key={href} rel="modulepreload" href={href} />)}
        {props.assets.scripts.map((src) => <script key={src} type="module" src={src} />)}
      </head>
      <body data-page-building={props.building || undefined}>
        <a class="skip" href="#main">{lang === "ko" ? "본문으로 건너뛰기" : "Skip to content"}</a>
        <header class="topbar">
          <a class="brand" href="/">
            <img src="/icons/icon.svg" alt="" width="28" height="28" />
            <span>{t(lang, "app.name")}</span>
          </a>
          <div class="topbar-actions">
            {user && <NotificationBell lang={lang} unread={props.unread ?? 0} />}
            <a
              class="lang"
              href={`/lang/${lang === "ko" ? "en" : "ko"}`}
              hreflang={lang === "ko" ? "en" : "ko"}
            >
              {t(lang, "lang.toggle")}
            </a>
          </div>
        </header>
        {user && (
          <nav class="tabs" aria-label={t(lang, "app.name")}>
            {nav.map(([key, href, label]) => (
              <a href={href} aria-current={active === key ? "page" : undefined}>{label}</a>
            ))}
          </nav>
        )}
        {user && props.buildings && (
          <BuildingSwitcher lang={lang} buildings={props.buildings} current={props.building} />
        )}
        <main id="main">{props.children}</main>
        {user && <Toasts lang={lang} />}
      </body>
    </html>
  );
}
