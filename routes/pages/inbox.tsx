/**
 * `/inbox`: notification history. Server-rendered from the store, then the
 * Inbox island keeps it live (new notifications, reads elsewhere).
 * @module
 */
import type { PageFn } from "../pages.tsx";
import Inbox from "../../islands/Inbox.tsx";

/** The inbox page. */
export const inboxPage: PageFn = async (c, ctx) => {
  const lang = c.get("lang");
  const all = await ctx.store.listInbox(c.get("user")!.id, 10_000);
  const unread = all.filter((i) => !i.readAt).length;
  return {
    unread,
    title: "inbox.title",
    active: "inbox",
    body: (
      <Inbox
        lang={lang}
        items={all.slice(0, 100)}
        unread={unread}
        serverTime={Date.now()}
      />
    ),
  };
};
