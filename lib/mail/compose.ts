/**
 * The text of the mail the fallback sends, plain text and simple HTML, in
 * the resident's language. Pure: no I/O.
 * @module
 */
import { type Lang, t } from "../i18n.ts";
import type { InboxItem } from "../types.ts";

/** A composed mail (the transport adds From). */
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

/** HTML-escape text for element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `origin` + a same-origin path (anything else becomes "/"). */
export function absoluteUrl(origin: string, path: string): string {
  const safe = path.startsWith("/") && !path.startsWith("//") && !path.startsWith("/\\")
    ? path
    : "/";
  return new URL(safe, origin).href;
}

function page(lang: Lang, title: string, parts: string[], footer: string): string {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${
    escapeHtml(title)
  }</title></head><body style="font-family:sans-serif;line-height:1.5;color:#222;max-width:560px">` +
    parts.join("") +
    `<hr style="border:0;border-top:1px solid #ddd"><p style="color:#666;font-size:13px">${footer}</p></body></html>`;
}

function paragraphs(s: string): string {
  return s.split(/\n+/).map((p) => `<p>${escapeHtml(p)}</p>`).join("");
}

/** The mail of one inbox item, with a link to the page it is about and to the settings. */
export function notificationMail(item: InboxItem, lang: Lang, origin: string): MailContent {
  const link = absoluteUrl(origin, item.url);
  const settings = absoluteUrl(origin, "/settings");
  const brand = t(lang, "mail.brand");
  const subject = `[${brand}] ${item.title}`;
  const text = [
    item.title,
    "",
    item.body,
    "",
    `${t(lang, "mail.open")}: ${link}`,
    "",
    "—",
    t(lang, "mail.why"),
    `${t(lang, "mail.settings")}: ${settings}`,
    "",
  ].join("\n");
  const html = page(
    lang,
    subject,
    [
      `<h1 style="font-size:20px">${escapeHtml(item.title)}</h1>`,
      paragraphs(item.body),
      `<p><a href="${escapeHtml(link)}" style="font-weight:bold">${
        escapeHtml(t(lang, "mail.open"))
      }</a></p>`,
    ],
    `${escapeHtml(t(lang, "mail.why"))} <a href="${escapeHtml(settings)}">${
      escapeHtml(t(lang, "mail.settings"))
    }</a>`,
  );
  return { subject, text, html };
}

/** The mail with a verification link (`link` is absolute). */
export function verificationMail(lang: Lang, link: string, hours: number): MailContent {
  const brand = t(lang, "mail.brand");
  const subject = `[${brand}] ${t(lang, "mail.verify.subject")}`;
  const body = t(lang, "mail.verify.body", { hours });
  const text = [
    t(lang, "mail.verify.subject"),
    "",
    body,
    "",
    link,
    "",
    "—",
    t(lang, "mail.verify.ignore"),
    "",
  ].join("\n");
  const html = page(
    lang,
    subject,
    [
      `<h1 style="font-size:20px">${escapeHtml(t(lang, "mail.verify.subject"))}</h1>`,
      paragraphs(body),
      `<p><a href="${escapeHtml(link)}" style="font-weight:bold">${
        escapeHtml(t(lang, "mail.verify.button"))
      }</a></p>`,
      `<p style="font-size:13px;word-break:break-all">${escapeHtml(link)}</p>`,
    ],
    escapeHtml(t(lang, "mail.verify.ignore")),
  );
  return { subject, text, html };
}
