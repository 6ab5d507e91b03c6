/**
 * Admin: invite codes with uses/max, expiry and state; create (optional
 * custom code, max uses, days valid), revoke (two-step), and copy a sign-up
 * link `/register?invite=CODE` (falls back to a selectable field where the
 * clipboard is unavailable, e.g. plain http on a LAN address).
 * @module
 */
import { useSignal } from "@preact/signals";
import { island } from "../lib/islands.ts";
import { type Lang, t } from "../lib/i18n.ts";
import { api } from "../client/api.ts";
import type { Invite } from "../lib/db/records.ts";
import ConfirmButton, { errorText, Flash, type FlashMessage, formatDate } from "./AdminConfirm.tsx";

/** An invite code as the API returns it. */
export type InviteRow = Invite;

/** Props rendered by the server. */
export interface AdminInvitesProps {
  lang: Lang;
  invites: InviteRow[];
  /** Server time at render (expiry is judged against it before hydration). */
  serverTime: number;
}

/** The state of an invite code. */
export function inviteState(
  i: InviteRow,
  now: number,
): "active" | "revoked" | "expired" | "used_up" {
  if (i.revoked) return "revoked";
  if (i.expiresAt !== undefined && i.expiresAt < now) return "expired";
  if (i.uses >= i.maxUses) return "used_up";
  return "active";
}

/** The sign-up link of a code, absolute on `origin`. */
export function registerLink(origin: string, code: string): string {
  return `${origin}/register?invite=${encodeURIComponent(code)}`;
}

/** Select a field's text when it appears (stable, so it runs once per mount). */
const selectOnMount = (el: HTMLInputElement | null) => el?.select();

function AdminInvites(props: AdminInvitesProps) {
  const { lang } = props;
  const invites = useSignal(props.invites);
  const busy = useSignal<string | null>(null);
  const flash = useSignal<FlashMessage | null>(null);
  /** A link to copy by hand when the clipboard API failed. */
  const manual = useSignal<string | null>(null);
  const code = useSignal("");
  const maxUses = useSignal("");
  const days = useSignal("");
  const now = typeof document === "undefined" ? props.serverTime : Date.now();

  async function act(key: string, fn: () => Promise<string>) {
    busy.value = key;
    flash.value = null;
    manual.value = null;
    try {
      flash.value = { text: await fn(), error: false };
    } catch (e) {
      flash.value = { text: errorText(e, lang), error: true };
    } finally {
      busy.value = null;
    }
  }

  async function reload() {
    invites.value = (await api<{ invites: InviteRow[] }>("GET", "/api/admin/invites")).invites;
  }

  async function refresh() {
    busy.value = "refresh";
    try {
      await reload();
    } catch (e) {
      flash.value = { text: errorText(e, lang), error: true };
    } finally {
      busy.value = null;
    }
  }

  const create = (e: Event) => {
    e.preventDefault();
    act("create", async () => {
      const body: Record<string, unknown> = {};
      if (code.value.trim()) body.code = code.value.trim();
      if (maxUses.value) body.maxUses = Number(maxUses.value);
      if (days.value) body.expiresInDays = Number(days.value);
      const r = await api<{ invite: InviteRow }>("POST", "/api/admin/invites", body);
      code.value = "";
      maxUses.value = "";
      days.value = "";
      await reload().catch(() => (invites.value = [r.invite, ...invites.value]));
      return t(lang, "admin.invite_created", { code: r.invite.code });
    });
  };

  const revoke = (i: InviteRow) =>
    act(i.code, async () => {
      const r = await api<{ invite: InviteRow }>(
        "DELETE",
        `/api/admin/invites/${encodeURIComponent(i.code)}`,
      );
      invites.value = invites.value.map((x) => (x.code === i.code ? r.invite : x));
      return t(lang, "admin.invite_revoked_ok", { code: i.code });
    });

  async function copy(i: InviteRow) {
    const link = registerLink(location.origin, i.code);
    flash.value = null;
    manual.value = null;
    try {
      await navigator.clipboard.writeText(link);
      flash.value = { text: `${t(lang, "admin.copied")} ${link}`, error: false };
    } catch {
      flash.value = { text: t(lang, "admin.copy_manual"), error: true };
      manual.value = link;
    }
  }

  return (
    <section id="invites" class="panel admin-section" aria-labelledby="invites-title">
      <div class="admin-head">
        <h2 id="invites-title">{t(lang, "admin.invites")}</h2>
        <button
          type="button"
          class="small"
          data-action="refresh"
          disabled={busy.value === "refresh"}
          onClick={refresh}
        >
          {t(lang, "admin.refresh")}
        </button>
      </div>
      <Flash flash={flash.value} />
      {manual.value && (
        <label class="field">
          <span>{t(lang, "admin.register_link")}</span>
          <input
            readOnly
            value={manual.value}
            ref={selectOnMount}
            onFocus={(e) => (e.target as HTMLInputElement).select()}
          />
        </label>
      )}
      {invites.value.length === 0 && <p class="empty">{t(lang, "admin.no_invites")}</p>}
      <ul class="rows admin-rows">
        {invites.value.map((i) => {
          const state = inviteState(i, now);
          return (
            <li key={i.code} data-invite={i.code} data-invite-state={state}>
              <div class="row-main">
                <div class="row-title">
                  <code class="invite-code">{i.code}</code>
                  <span class={`pill invite-${state}`}>{t(lang, `admin.invite_${state}`)}</span>
                </div>
                <span class="muted">
                  {t(lang, "admin.uses", { uses: i.uses, max: i.maxUses })} · {i.expiresAt
                    ? t(lang, "admin.invite_until", { date: formatDate(i.expiresAt, lang) })
                    : t(lang, "admin.invite_no_expiry")}
                </span>
              </div>
              <div class="row-actions">
                {state === "active" && (
                  <button
                    type="button"
                    data-action="copy"
                    onClick={() => copy(i)}
                  >
                    {t(lang, "admin.copy_link")}
                  </button>
                )}
                {!i.revoked && (
                  <ConfirmButton
                    lang={lang}
                    label={t(lang, "admin.revoke")}
                    action="revoke"
                    disabled={busy.value === i.code}
                    onConfirm={() => revoke(i)}
                  />
                )}
              </div>
            </li>
          );
        })}
      </ul>
      <form class="inline add-form" onSubmit={create} aria-labelledby="new-invite-title">
        <h3 id="new-invite-title" class="form-title">{t(lang, "admin.new_invite")}</h3>
        <div class="field field-wide">
          <label for="invite-code">{t(lang, "admin.invite_code")}</label>
          <input
            id="invite-code"
            name="code"
            autocomplete="off"
            autocapitalize="characters"
            pattern="[A-Za-z0-9\-]{4,40}"
            maxLength={40}
            aria-describedby="invite-code-rule"
            value={code.value}
            onInput={(e) => (code.value = (e.target as HTMLInputElement).value)}
          />
          <small id="invite-code-rule" class="muted">{t(lang, "admin.invite_code_rule")}</small>
        </div>
        <label class="field field-narrow">
          <span>
            {t(lang, "admin.max_uses")} <small class="muted">{t(lang, "admin.optional")}</small>
          </span>
          <input
            name="maxUses"
            type="number"
            inputMode="numeric"
            min={1}
            max={100000}
            step={1}
            value={maxUses.value}
            onInput={(e) => (maxUses.value = (e.target as HTMLInputElement).value)}
          />
        </label>
        <label class="field field-narrow">
          <span>
            {t(lang, "admin.expires_days")} <small class="muted">{t(lang, "admin.optional")}</small>
          </span>
          <input
            name="expiresInDays"
            type="number"
            inputMode="numeric"
            min={1}
            max={3650}
            step={1}
            value={days.value}
            onInput={(e) => (days.value = (e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" class="primary" disabled={busy.value === "create"}>
          {t(lang, "admin.create")}
        </button>
      </form>
    </section>
  );
}

export default island("AdminInvites", AdminInvites);
