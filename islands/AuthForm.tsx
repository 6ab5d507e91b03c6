/**
 * Sign-in and registration forms. They post JSON to `/api/auth/*` (the API
 * accepts JSON only, as its CSRF defence) and go to the board on success.
 * @module
 */
import { useSignal } from "@preact/signals";
import { island } from "../lib/islands.ts";
import { type Lang, t } from "../lib/i18n.ts";
import { api, ApiError } from "../client/api.ts";

/** Props of the form. */
export interface AuthFormProps {
  mode: "login" | "register";
  lang: Lang;
  /** Prefill for the invite code (from `?invite=`). */
  invite?: string;
}

function AuthForm({ mode, lang, invite }: AuthFormProps) {
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);

  async function submit(e: Event) {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = Object.fromEntries(new FormData(form)) as Record<string, string>;
    busy.value = true;
    error.value = null;
    try {
      await api("POST", `/api/auth/${mode}`, data);
      location.assign("/");
    } catch (err) {
      error.value = err instanceof ApiError && err.code !== "network"
        ? err.message
        : t(lang, "error.network");
    } finally {
      busy.value = false;
    }
  }

  const field = (
    name: string,
    label: string,
    type = "text",
    extra: Record<string, unknown> = {},
  ) => (
    <label class="field">
      <span>{label}</span>
      <input name={name} type={type} required {...extra} />
    </label>
  );

  return (
    <form class="auth" onSubmit={submit} method="post" novalidate={false}>
      {mode === "register" &&
        field("inviteCode", t(lang, "register.invite"), "text", {
          value: invite ?? "",
          autocomplete: "off",
          autocapitalize: "characters",
        })}
      {field("loginId", t(lang, "login.id"), "text", {
        autocomplete: "username",
        autocapitalize: "none",
        minLength: mode === "register" ? 3 : 1,
        maxLength: 32,
      })}
      {field("password", t(lang, "login.password"), "password", {
        autocomplete: mode === "register" ? "new-password" : "current-password",
        minLength: mode === "register" ? 8 : 1,
      })}
      {mode === "register" && field("name", t(lang, "register.name"), "text", { maxLength: 40 })}
      {mode === "register" && field("room", t(lang, "register.room"), "text", { maxLength: 20 })}
      {error.value && <p class="banner error" role="alert">{error.value}</p>}
      <button type="submit" class="primary" disabled={busy.value}>
        {t(lang, mode === "login" ? "login.submit" : "register.submit")}
      </button>
      <p class="switch">
        <a href={mode === "login" ? "/register" : "/login"}>
          {t(lang, mode === "login" ? "login.to_register" : "register.to_login")}
        </a>
      </p>
    </form>
  );
}

export default island("AuthForm", AuthForm);
