/**
 * Accessibility checks shared by the browser tests: axe-core's WCAG 2.1
 * A/AA rules and visible controls under 44 px.
 * @module
 */
import type { Page } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";

/** axe-core violations on the page (WCAG 2.1 A/AA), one line each, prefixed with `what`. */
export async function axe(page: Page, what: string): Promise<string[]> {
  const r = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return r.violations.map((v) =>
    `${what}: ${v.id} (${v.impact}) ${
      v.nodes.slice(0, 3).map((n) => `${n.target.join(" ")} ${n.failureSummary ?? ""}`).join(" | ")
    }`
  );
}

/** Visible controls under 44 px tall or wide (links inside running text excepted). */
export async function smallTargets(page: Page, what: string): Promise<string[]> {
  const small = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>(
      "button, .button, .tabs a, .bell, a.lang, input:not([type=checkbox]):not([type=radio]), select, summary",
    )].filter((el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && (r.height < 44 || r.width < 44);
    }).map((el) => {
      const r = el.getBoundingClientRect();
      return `${el.tagName}.${el.className} "${(el.textContent ?? "").trim().slice(0, 20)}" ${
        Math.round(r.width)
      }×${Math.round(r.height)}`;
    })
  );
  return small.map((s) => `${what}: ${s}`);
}
