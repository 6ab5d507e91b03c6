/**
 * Notification settings: which kinds to push, the "ending soon" lead time,
 * quiet hours (in the browser's time zone), language; this user's devices
 * with their health ("tap to fix" re-subscribes this browser), removal and a
 * test send with per-device results; the email fallback (an address
 * verified by a one-time link, opt-in, bounces) when the server sends mail;
 * and logout.
 * @module
 */
import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { island } from "../lib/islands.ts";
import { type Lang, type MessageKey, t } from "../lib/i18n.ts";
import type { NotificationKind, Preferences } from "../lib/types.ts";
import { api } from "../client/api.ts";
import {
  DEVICE_KEY,
  disablePush,
  enablePush,
  logout,
  type PushState,
  pushState,
  resyncPush,
} from "../client/push.ts";
import { relativeTime } from "../client/time.ts";
import { errorText } from "../client/errors.ts";
import type { EmailView } from "../lib/mail/records.ts";

/** A device as `GET /api/push/devices` lists it. */
export interface DeviceInfo {
  deviceId: string;
  kind: "webpush" | "fcm";
  label: string;
  service: string;
  createdAt: number;
  lastSeenAt: number;
  lastSuccessAt: number | null;
  failures: number;
  health: { healthy: boolean; reason: string };
}

/** Props rendered by the server. */
export interface SettingsProps {
  lang: Lang;
  prefs: Preferences;
  devices: DeviceInfo[];
  kinds: NotificationKind[];
  user: { name: string; room: string };
  serverTime: number;
  /** The email fallback: offered only when the server sends mail (`SMTP_URL`). */
  email: { available: boolean; view: EmailView | null };
  /** A verification token from the link in the mail (`/settings?verify=`), to confirm. */
  verifyToken: string | null;
}

interface TestResult {
  deviceId: string;
  label: string;
  status: string;
  detail?: string;
}

function Settings(props: SettingsProps) {
  const { lang } = props;
  const prefs = useSignal<Preferences>(props.prefs);
  const devices = useSignal<DeviceInfo[]>(props.devices);
  const myDevice = useSignal<string | null>(null);
  const push = useSignal<PushState | "busy" | null>(null);
  const saving = useSignal(false);
  const message = useSignal<{ text: string; error: boolean } | null>(null);
  const deviceMessage = useSignal<{ text: string; error: boolean } | null>(null);
  const results = useSignal<TestResult[] | null>(null);
  const testing = useSignal(false);
  const timeZone = useSignal(props.prefs.timeZone);

  const errText = (e: unknown) => errorText(lang, e);
  const email = useSignal<EmailView | null>(props.email.view);
  const verifyToken = useSignal<string | null>(props.verifyToken);
  const emailBusy = useSignal(false);
  const emailMessage = useSignal<{ text: string; error: boolean } | null>(null);
  const emailAddress = useSignal(props.email.view?.pending ?? props.email.view?.address ?? "");

  async function emailCall(
    method: "PUT" | "PATCH" | "DELETE" | "POST",
    path: string,
    payload: unknown,
    done: (v: EmailView | null) => string,
  ) {
    emailBusy.value = true;
    emailMessage.value = null;
    try {
      const r = await api<{ email: EmailView | null }>(method, path, payload);
      email.value = r.email;
      emailMessage.value = { text: done(r.email), error: false };
    } catch (err) {
      emailMessage.value = { text: errText(err), error: true };
    } finally {
      emailBusy.value = false;
    }
  }

  async function confirmEmail() {
    await emailCall(
      "POST",
      "/api/email/verify",
      { token: verifyToken.value },
      () => t(lang, "settings.email_confirmed"),
    );
    verifyToken.value = null;
    try {
      history.replaceState(null, "", "/settings");
    } catch { /* not in a browser */ }
  }

  async function reloadDevices() {
    try {
      devices.value = (await api<{ devices: DeviceInfo[] }>("GET", "/api/push/devices")).devices;
    } catch { /* keep the list */ }
  }

  useEffect(() => {
    try {
      myDevice.value = localStorage.getItem(DEVICE_KEY);
      timeZone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || props.prefs.timeZone;
    } catch { /* no storage */ }
    pushState().then((s) => (push.value = s));
  }, []);

  function update(patch: Partial<Preferences>) {
    prefs.value = { ...prefs.value, ...patch };
  }

  async function save(e: Event) {
    e.preventDefault();
    saving.value = true;
    message.value = null;
    const p = prefs.value;
    try {
      await api("PUT", "/api/preferences", {
        lang: p.lang,
        timeZone: timeZone.value,
        push: p.push,
        endingSoonMinutes: p.endingSoonMinutes,
        quiet: p.quiet,
      });
      if (p.lang !== lang) {
        location.assign(`/lang/${p.lang}`);
        return;
      }
      message.value = { text: t(lang, "settings.saved"), error: false };
    } catch (err) {
      message.value = { text: errText(err), error: true };
    } finally {
      saving.value = false;
    }
  }

  async function turnOn(fix = false) {
    push.value = "busy";
    deviceMessage.value = null;
    const r = fix ? { ok: (await resyncPush(true)) === "on" } : await enablePush();
    if (!r.ok && fix) {
      // The browser lost the subscription: start again from scratch.
      return turnOn(false);
    }
    push.value = await pushState();
    myDevice.value = localStorage.getItem(DEVICE_KEY);
    if (r.ok) {
      deviceMessage.value = {
        text: t(lang, fix ? "settings.device_fixed" : "bell.on"),
        error: false,
      };
    } else {
      const err = (r as { error?: string }).error;
      // Blocked: the section's hint already explains it; one message, not two.
      if (err === "blocked") return await reloadDevices();
      deviceMessage.value = {
        text: err === "timeout"
          ? t(lang, "bell.timeout")
          : err === "blocked"
          ? t(lang, "bell.blocked_help")
          : err === "denied"
          ? t(lang, "bell.denied")
          : t(lang, "bell.error", { reason: (r as { detail?: string }).detail ?? "?" }),
        error: true,
      };
    }
    await reloadDevices();
  }

  async function remove(d: DeviceInfo) {
    deviceMessage.value = null;
    try {
      if (d.deviceId === myDevice.value) {
        await disablePush();
        push.value = await pushState();
      } else await api("DELETE", `/api/push/devices/${d.deviceId}`);
    } catch (err) {
      deviceMessage.value = { text: errText(err), error: true };
    }
    await reloadDevices();
  }

  async function sendTest() {
    testing.value = true;
    results.value = null;
    deviceMessage.value = null;
    try {
      const r = await api<{ devices: TestResult[] }>("POST", "/api/push/test", {});
      results.value = r.devices;
    } catch (err) {
      deviceMessage.value = { text: errText(err), error: true };
    } finally {
      testing.value = false;
    }
    await reloadDevices();
  }

  const p = prefs.value;
  const now = typeof document === "undefined" ? props.serverTime : Date.now();
  const mine = devices.value.find((d) => d.deviceId === myDevice.value);

  return (
    <section class="settings" aria-labelledby="settings-title">
      <h1 id="settings-title">{t(lang, "settings.title")}</h1>

      <form class="panel" onSubmit={save} data-form="preferences">
        <fieldset>
          <legend>{t(lang, "settings.kinds")}</legend>
          {props.kinds.map((k) => (
            <label class="check" key={k}>
              <input
                type="checkbox"
                name={`push-${k}`}
                data-kind={k}
                checked={p.push[k] !== false}
                onChange={(e) =>
                  update({
                    push: { ...p.push, [k]: (e.currentTarget as HTMLInputElement).checked },
                  })}
              />
              <span>{t(lang, `kindname.${k}` as MessageKey)}</span>
            </label>
          ))}
        </fieldset>

        <label class="field">
          <span>{t(lang, "settings.lead")}</span>
          <input
            type="number"
            name="endingSoonMinutes"
            inputMode="numeric"
            min={0}
            max={30}
            required
            value={p.endingSoonMinutes}
            onInput={(e) =>
              update({ endingSoonMinutes: Number((e.currentTarget as HTMLInputElement).value) })}
          />
        </label>

        <fieldset>
          <legend>{t(lang, "settings.quiet")}</legend>
          <label class="check">
            <input
              type="checkbox"
              name="quietEnabled"
              checked={p.quiet.enabled}
              onChange={(e) =>
                update({
                  quiet: { ...p.quiet, enabled: (e.currentTarget as HTMLInputElement).checked },
                })}
            />
            <span>{t(lang, "settings.quiet_enabled")}</span>
          </label>
          <div class="inline">
            <label class="field">
              <span>{t(lang, "settings.quiet_start")}</span>
              <input
                type="time"
                name="quietStart"
                required
                value={p.quiet.start}
                disabled={!p.quiet.enabled}
                onInput={(e) =>
                  update({
                    quiet: { ...p.quiet, start: (e.currentTarget as HTMLInputElement).value },
                  })}
              />
            </label>
            <label class="field">
              <span>{t(lang, "settings.quiet_end")}</span>
              <input
                type="time"
                name="quietEnd"
                required
                value={p.quiet.end}
                disabled={!p.quiet.enabled}
                onInput={(e) =>
                  update({
                    quiet: { ...p.quiet, end: (e.currentTarget as HTMLInputElement).value },
                  })}
              />
            </label>
          </div>
          <fieldset class="radios" disabled={!p.quiet.enabled}>
            <legend>{t(lang, "settings.quiet_mode")}</legend>
            {(["silent", "hold"] as const).map((mode) => (
              <label class="check" key={mode}>
                <input
                  type="radio"
                  name="quietMode"
                  value={mode}
                  checked={p.quiet.mode === mode}
                  onChange={() => update({ quiet: { ...p.quiet, mode } })}
                />
                <span>{t(lang, `settings.quiet_mode_${mode}`)}</span>
              </label>
            ))}
          </fieldset>
          <p class="muted">{t(lang, "settings.quiet_note")}</p>
          <p class="muted" data-tz={timeZone.value}>
            {t(lang, "settings.time_zone", { tz: timeZone.value })}
          </p>
        </fieldset>

        <label class="field">
          <span>{t(lang, "settings.language")}</span>
          <select
            name="lang"
            value={p.lang}
            onChange={(e) => update({ lang: (e.currentTarget as HTMLSelectElement).value as Lang })}
          >
            <option value="ko">한국어</option>
            <option value="en">English</option>
          </select>
        </label>

        {message.value && (
          <p
            class={`banner ${message.value.error ? "error" : "ok"}`}
            role={message.value.error ? "alert" : "status"}
          >
            {message.value.text}
          </p>
        )}
        <button type="submit" class="primary" disabled={saving.value}>
          {t(lang, "settings.save")}
        </button>
      </form>

      <section class="panel" aria-labelledby="devices-title">
        <div class="page-head">
          <h2 id="devices-title">{t(lang, "settings.devices")}</h2>
          {push.value === "off" && !mine && (
            <button
              type="button"
              class="primary"
              data-push-action="enable"
              onClick={() => turnOn()}
            >
              {t(lang, "bell.enable")}
            </button>
          )}
          {push.value === "busy" && (
            <button type="button" disabled aria-busy="true">{t(lang, "bell.busy")}</button>
          )}
        </div>
        {push.value === "blocked" && <p class="banner warn">{t(lang, "bell.blocked_help")}</p>}
        {devices.value.length === 0 && <p class="empty">{t(lang, "settings.no_devices")}</p>}
        <ul class="rows devices">
          {devices.value.map((d) => {
            const isMine = d.deviceId === myDevice.value;
            return (
              <li
                key={d.deviceId}
                data-device={d.deviceId}
                data-healthy={d.health.healthy ? "1" : "0"}
              >
                <div class="device-info">
                  <strong>
                    {d.label || d.service}
                    {isMine && <span class="chip">{t(lang, "settings.this_device")}</span>}
                  </strong>
                  <span class="muted">
                    {d.kind === "fcm" ? "FCM" : d.service} · {d.lastSuccessAt
                      ? t(lang, "settings.device_last_ok", {
                        time: relativeTime(lang, d.lastSuccessAt, now),
                      })
                      : t(lang, "settings.device_never")}
                  </span>
                  {d.health.healthy
                    ? (
                      <span class="health ok">
                        <span aria-hidden="true">✓</span> {t(lang, "settings.device_ok")}
                      </span>
                    )
                    : isMine
                    ? (
                      <button
                        type="button"
                        class="health bad"
                        data-action="fix"
                        onClick={() => turnOn(true)}
                      >
                        <span aria-hidden="true">⚠</span> {t(lang, "settings.device_unhealthy")}
                      </button>
                    )
                    : (
                      <span class="health bad">
                        <span aria-hidden="true">⚠</span> {t(lang, "settings.device_unhealthy")}
                        {" — "}
                        {t(lang, "settings.device_fix_elsewhere")}
                      </span>
                    )}
                </div>
                <button
                  type="button"
                  class="danger"
                  data-action="remove"
                  onClick={() => remove(d)}
                >
                  {t(lang, "settings.device_remove")}
                </button>
              </li>
            );
          })}
        </ul>
        {deviceMessage.value && (
          <p
            class={`banner ${deviceMessage.value.error ? "error" : "ok"}`}
            role={deviceMessage.value.error ? "alert" : "status"}
            data-device-message
          >
            {deviceMessage.value.text}
          </p>
        )}
        {devices.value.length > 0 && (
          <button type="button" data-action="test" disabled={testing.value} onClick={sendTest}>
            {t(lang, "settings.device_test")}
          </button>
        )}
        {results.value && (
          <div class="test-results" role="status" data-test-results>
            <h3>{t(lang, "settings.test_sent")}</h3>
            <ul class="rows">
              {results.value.map((r) => (
                <li key={r.deviceId} data-result={r.status} data-device={r.deviceId}>
                  <span>{r.label || r.deviceId}</span>
                  <strong>
                    <span aria-hidden="true">{r.status === "ok" ? "✓ " : "⚠ "}</span>
                    {t(lang, `settings.test_status.${r.status}` as MessageKey)}
                  </strong>
                </li>
              ))}
            </ul>
          </div>
        )}
      </section>

      {props.email.available && (
        <section class="panel" aria-labelledby="email-title" data-email>
          <h2 id="email-title">{t(lang, "settings.email")}</h2>
          <p class="muted">{t(lang, "settings.email_intro")}</p>
          {verifyToken.value && (
            <div class="banner warn" data-email-confirm>
              <p>{t(lang, "settings.email_confirm_prompt")}</p>
              <button
                type="button"
                class="primary"
                data-action="email-confirm"
                disabled={emailBusy.value}
                onClick={confirmEmail}
              >
                {t(lang, "settings.email_confirm")}
              </button>
            </div>
          )}
          {email.value?.address && (
            <p data-email-verified>
              <span aria-hidden="true">✓</span>{" "}
              {t(lang, "settings.email_verified", { address: email.value.address })}
              {email.value.bounces > 0 && (
                <span class="chip" data-email-bounces={email.value.bounces}>
                  {t(lang, "settings.email_bounces", { n: email.value.bounces })}
                </span>
              )}
            </p>
          )}
          {email.value?.bouncing && (
            <p class="banner error" role="alert" data-email-bouncing>
              {t(lang, "settings.email_bouncing", { n: email.value.bounces })}
            </p>
          )}
          {email.value?.address && (
            <label class="check">
              <input
                type="checkbox"
                name="emailEnabled"
                checked={email.value.enabled}
                disabled={emailBusy.value}
                onChange={(e) =>
                  emailCall(
                    "PATCH",
                    "/api/email",
                    { enabled: (e.currentTarget as HTMLInputElement).checked },
                    () => t(lang, "settings.saved"),
                  )}
              />
              <span>{t(lang, "settings.email_enabled")}</span>
            </label>
          )}
          {email.value?.pending && (
            <p class="muted" data-email-pending>
              {t(lang, "settings.email_sent", { address: email.value.pending })}
            </p>
          )}
          <form
            class="inline"
            data-form="email"
            onSubmit={(e) => {
              e.preventDefault();
              emailCall(
                "PUT",
                "/api/email",
                { address: emailAddress.value },
                (v) =>
                  t(lang, "settings.email_sent", { address: v?.pending ?? emailAddress.value }),
              );
            }}
          >
            <label class="field">
              <span>{t(lang, "settings.email_address")}</span>
              <input
                type="email"
                name="email"
                autoComplete="email"
                required
                maxLength={254}
                value={emailAddress.value}
                onInput={(e) => (emailAddress.value = (e.currentTarget as HTMLInputElement).value)}
              />
            </label>
            <button type="submit" disabled={emailBusy.value}>
              {t(lang, "settings.email_send")}
            </button>
          </form>
          {emailMessage.value && (
            <p
              class={`banner ${emailMessage.value.error ? "error" : "ok"}`}
              role={emailMessage.value.error ? "alert" : "status"}
              data-email-message
            >
              {emailMessage.value.text}
            </p>
          )}
          {email.value && (
            <button
              type="button"
              class="danger"
              data-action="email-remove"
              disabled={emailBusy.value}
              onClick={() =>
                emailCall(
                  "DELETE",
                  "/api/email",
                  undefined,
                  () => t(lang, "settings.email_removed"),
                )}
            >
              {t(lang, "settings.email_remove")}
            </button>
          )}
        </section>
      )}

      <section class="panel" aria-labelledby="account-title">
        <h2 id="account-title">{t(lang, "settings.account")}</h2>
        <p>{t(lang, "settings.signed_in_as", props.user)}</p>
        <button type="button" data-action="logout" onClick={() => logout()}>
          {t(lang, "nav.logout")}
        </button>
      </section>
    </section>
  );
}

export default island("Settings", Settings);
