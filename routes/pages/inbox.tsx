/**
 * `/inbox`: notification history (server-rendered list).
 * @module
 */
import type { PageFn } from "../pages.tsx";
import { t } from "../../lib/i18n.ts";

/** The inbox page. */
export const inboxPage: PageFn = async (c, ctx) => {
  const lang = c.get("lang");
  const items = await ctx.store.listInbox(c.get("user")!.id);
  return {
    title: "inbox.title",
    active: "inbox",
    body: (
      <section>
        <h1>{t(lang, "inbox.title")}</h1>
        {items.length === 0 ? <p class="empty">{t(lang, "inbox.empty")}</p> : (
          <ul class="inbox">
            {items.map((i) => (
              <li class={i.readAt ? "read" : "unread"}>
                <a href={i.url}>
                  <strong>{i.title}</strong>
                  <span>{i.body}</span>
                </a>
              </li>
            ))}
          </ul>
        )}
      </section>
    ),
  };
};
