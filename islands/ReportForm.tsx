/**
 * `/report?m=<machineId>`: a resident reports a problem with a machine
 * (category + an optional note). Its own page, so the board carries only a
 * link. After sending: a confirmation and the way back to the board.
 * @module
 */
import { useSignal } from "@preact/signals";
import { island } from "../lib/islands.ts";
import { type Lang, t } from "../lib/i18n.ts";
import { FAULT_CATEGORIES, type FaultCategory } from "../lib/types.ts";
import { api } from "../client/api.ts";
import { errorText } from "../client/errors.ts";

/** Props rendered by the server. */
export interface ReportFormProps {
  lang: Lang;
  machineId: string;
}

function ReportForm(props: ReportFormProps) {
  const { lang } = props;
  const category = useSignal<FaultCategory | "">("");
  const note = useSignal("");
  const busy = useSignal(false);
  const sent = useSignal(false);
  const error = useSignal<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    if (!category.value) {
      error.value = t(lang, "report.category");
      return;
    }
    busy.value = true;
    error.value = null;
    try {
      await api("POST", `/api/machines/${props.machineId}/report`, {
        category: category.value,
        note: note.value.trim(),
      });
      sent.value = true;
    } catch (err) {
      error.value = errorText(lang, err);
    } finally {
      busy.value = false;
    }
  }

  if (sent.value) {
    return (
      <div class="panel">
        <p class="banner ok" role="status" data-report-sent>{t(lang, "report.sent")}</p>
        <p>
          <a class="button primary" href={`/?m=${props.machineId}`}>{t(lang, "report.back")}</a>
        </p>
      </div>
    );
  }
  return (
    <form class="panel report-form" onSubmit={submit}>
      <fieldset>
        <legend>{t(lang, "report.category")}</legend>
        <div class="choices">
          {FAULT_CATEGORIES.map((c) => (
            <label class="check" key={c}>
              <input
                type="radio"
                name="category"
                value={c}
                checked={category.value === c}
                onChange={() => (category.value = c)}
              />
              {t(lang, `fault.${c}`)}
            </label>
          ))}
        </div>
      </fieldset>
      <label class="field">
        <span>{t(lang, "report.note")}</span>
        <textarea
          name="note"
          maxLength={300}
          rows={3}
          value={note.value}
          onInput={(e) => (note.value = (e.target as HTMLTextAreaElement).value)}
        />
      </label>
      {error.value && <p class="banner error" role="alert">{error.value}</p>}
      <div class="form-buttons">
        <button type="submit" class="primary" disabled={busy.value}>
          {t(lang, "report.submit")}
        </button>
        <a class="button" href={`/?m=${props.machineId}`}>{t(lang, "report.cancel")}</a>
      </div>
    </form>
  );
}

export default island("ReportForm", ReportForm);
