/**
 * Sign-in and registration forms. They post JSON to `/api/auth/*` (the API
 * accepts JSON only, as its CSRF defence) and go to the page that was asked
 * for (`next`, a same-site path) or the board on success. A refusal is shown
 * translated, under the field it concerns when there is one.
 * @module
 */
import { useSignal } from "@preact/signals";
import { island } from "../lib/islands.ts";
import { type Lang, t } from "../lib/i18n.ts";
import { api } from "../client/api.ts";
import { errorField, errorText } from "../client/errors.ts";

/** Props of the form. */
export interface AuthFormProps {
  mode: "login" | "register" | "reset";
  lang: Lang;
  /** Prefill for the invite code (from `?invite=`). */
  invite?: string;
  /** Prefill for the reset code (from `?code=`). */
  resetCode?: string;
  /** Where to go after signing in (a path on this site), default `/`. */
  next?: string;
}

/** A same-site path to return to after sign-in, or "/" (never another origin). */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (/^\/(login|register|reset|lang\/)/.test(next)) return "/";
  return next.slice(0, 512);
}

function AuthForm({ mode, lang, invite, resetCode, next }: AuthFormProps) {
  const error = useSignal<{ text: string; field?: string } | null>(null);
  const busy = useSignal(false);

  async function submit(e: Event) {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = Object.fromEntries(new FormData(form)) as Record<string, string>;
    busy.value = true;
    error.value = null;
    try {
      await api("POST", `/api/auth/${mode}`, data);
      // A new resident lands on the board, which asks once about notifications.
      location.assign(mode === "register" ? "/?welcome" : safeNext(next));
    } catch (err) {
      const field = errorField(err);
      error.value = { text: errorText(lang, err), field };
      const input = field ? form.querySelector<HTMLInputElement>(`[name="${field}"]`) : null;
      input?.focus();
    } finally {
      busy.value = false;
    }
  }

  const field = (
    name: string,
    label: string,
    type = "text",
    extra: Record<string, unknown> = {},
  ) => {
    const err = error.value?.field === name ? error.value.text : null;
    return (
      <label class="field">
        <span>{label}</span>
        <input
          name={name}
          type={type}
          required
          aria-invalid={err ? "true" : undefined}
          aria-describedby={err ? `err-${name}` : undefined}
          {...extra}
        />
        {err && <span class="field-error" id={`err-${name}`} role="alert">{err}</span>}
      </label>
    );
  };
  const formError = error.value && !error.value.field ? error.value.text : null;
  const placed = error.value?.field &&
    ["inviteCode", "resetCode", "loginId", "password", "name", "room"].includes(error.value.field);

  return (
    <form class="auth" onSubmit={submit} method="post" novalidate={false}>
      {mode === "register" &&
        field("inviteCode", t(lang, "register.invite"), "text", {
          // defaultValue: a re-render after an error must not erase what was typed.
          defaultValue: invite ?? "",
          autocomplete: "off",
          autocapitalize: "characters",
        })}
      {mode === "reset" &&
        field("resetCode", t(lang, "reset.code"), "text", {
          defaultValue: resetCode ?? "",
          autocomplete: "off",
          autocapitalize: "characters",
        })}
      {mode !== "reset" && field("loginId", t(lang, "login.id"), "text", {
        autocomplete: "username",
        autocapitalize: "none",
        minLength: mode === "register" ? 3 : 1,
        maxLength: 32,
      })}
      {field(
        "password",
        t(lang, mode === "reset" ? "reset.password" : "login.password"),
        "password",
        {
          autocomplete: mode === "login" ? "current-password" : "new-password",
          minLength: mode === "login" ? 1 : 8,
        },
      )}
      {mode === "register" && field("name", t(lang, "register.name"), "text", { maxLength: 40 })}
      {mode === "register" && field("room", t(lang, "register.room"), "text", { maxLength: 20 })}
      {(formError || (error.value && !placed)) && (
        <p class="banner error" role="alert" data-error>{error.value!.text}</p>
      )}
      <button type="submit" class="primary" disabled={busy.value}>
        {t(
          lang,
          mode === "login" ? "login.submit" : mode === "reset" ? "reset.submit" : "register.submit",
        )}
      </button>
      <p class="switch">
        <a href={mode === "login" ? "/register" : "/login"}>
          {t(lang, mode === "login" ? "login.to_register" : "register.to_login")}
        </a>
      </p>
      {mode === "login" && (
        <p class="switch">
          <a href="/reset">{t(lang, "login.forgot")}</a>
        </p>
      )}
    </form>
  );
}

export default island("AuthForm", AuthForm);
