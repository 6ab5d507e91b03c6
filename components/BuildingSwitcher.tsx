/**
 * The building switcher of an account with several buildings (the operator,
 * an admin of more than one building): a plain GET form, so it needs no
 * JavaScript. Choosing a building reloads the page with `?building=<id>`,
 * which lib/middleware/building.ts remembers in the `ll_building` cookie.
 * @module
 */
import { type Lang, t } from "../lib/i18n.ts";

/** Props of {@link BuildingSwitcher}. */
export interface BuildingSwitcherProps {
  lang: Lang;
  /** The buildings to choose from (id and name). */
  buildings: { id: string; name: string }[];
  /** The building the page acts in now. */
  current?: string;
}

/** A labelled select of buildings and a "go" button, below the tabs. */
export function BuildingSwitcher(props: BuildingSwitcherProps) {
  const { lang } = props;
  return (
    <form class="switcher" method="get" data-switcher>
      <label for="building-switch">{t(lang, "operator.switch")}</label>
      <select id="building-switch" name="building">
        {props.buildings.map((b) => (
          <option key={b.id} value={b.id} selected={b.id === props.current}>{b.name}</option>
        ))}
      </select>
      <button type="submit" class="small">{t(lang, "operator.switch_go")}</button>
    </form>
  );
}
