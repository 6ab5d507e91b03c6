import assert from "node:assert/strict";
import type { InboxItem } from "../types.ts";
import { absoluteUrl, escapeHtml, notificationMail, verificationMail } from "./compose.ts";

const item: InboxItem = {
  id: "use.done:u1",
  kind: "use.done",
  title: "세탁 완료 <W1>",
  body: "세탁기 W1 & 건조기가 끝났어요.\n수거해 주세요.",
  url: "/?m=w1",
  tag: "m-w1",
  machineId: "w1",
  createdAt: 0,
};

Deno.test("escapeHtml: the five special characters, nothing else", () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a> 한글`),
    "&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62; 한글",
  );
});

Deno.test("absoluteUrl: same-origin paths only; anything else opens the start page", () => {
  assert.equal(absoluteUrl("https://l.example", "/?m=w1"), "https://l.example/?m=w1");
  assert.equal(absoluteUrl("https://l.example", "/inbox?n=1"), "https://l.example/inbox?n=1");
  for (
    const bad of [
      "//evil.example/x",
      "https://evil.example/",
      "/\\evil.example",
      "javascript:alert(1)",
    ]
  ) {
    assert.equal(absoluteUrl("https://l.example", bad), "https://l.example/", bad);
  }
});

Deno.test("notificationMail: Korean text and HTML with the item's words, its link and the settings link", () => {
  const m = notificationMail(item, "ko", "https://l.example");
  assert.equal(m.subject, "[세탁실 라이브] 세탁 완료 <W1>");
  assert.ok(
    m.text.startsWith("세탁 완료 <W1>\n\n세탁기 W1 & 건조기가 끝났어요.\n수거해 주세요.\n"),
  );
  assert.ok(m.text.includes("앱에서 보기: https://l.example/?m=w1"));
  assert.ok(m.text.includes("이메일 알림 설정: https://l.example/settings"));
  assert.ok(m.html.includes('<html lang="ko">'));
  assert.ok(m.html.includes("세탁 완료 &#60;W1&#62;"), "escaped");
  assert.ok(!m.html.includes("<W1>"));
  assert.ok(m.html.includes("<p>세탁기 W1 &#38; 건조기가 끝났어요.</p><p>수거해 주세요.</p>"));
  assert.ok(m.html.includes('href="https://l.example/?m=w1"'));
  assert.ok(m.html.includes('href="https://l.example/settings"'));
});

Deno.test("notificationMail: English for an English reader", () => {
  const m = notificationMail(
    { ...item, title: "Done", body: "Collect it." },
    "en",
    "http://127.0.0.1:8000",
  );
  assert.equal(m.subject, "[LaundryLive] Done");
  assert.ok(m.text.includes("Open in the app: http://127.0.0.1:8000/?m=w1"));
  assert.ok(m.html.includes('<html lang="en">'));
});

Deno.test("verificationMail: the link in text and HTML, the lifetime, in each language", () => {
  const link = "https://l.example/settings?verify=abc_DEF-123";
  const ko = verificationMail("ko", link, 24);
  assert.equal(ko.subject, "[세탁실 라이브] 이메일 주소를 확인해 주세요");
  assert.ok(ko.text.includes(`\n${link}\n`));
  assert.ok(ko.text.includes("24시간"));
  assert.ok(ko.html.includes(`href="${link}"`));
  const en = verificationMail("en", link, 24);
  assert.ok(en.text.includes("for 24 hours"));
  assert.ok(en.text.includes("ignore this mail"));
});
