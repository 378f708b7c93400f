/**
 * The one filter bar every view has: a GET form, so its state is the URL. Range (local dates in
 * the zone shown), the zone itself, what to stack and split by, and filters on any dimension or
 * tag. Empty fields are dropped (by the script, else by a redirect: src/http/dashboard/state.ts).
 */
import { DIMENSIONS } from "../../reports/dimensions";
import type { View } from "./env";
import type { ViewState } from "./state";

const COMMON_ZONES = [
  "UTC",
  "America/Los_Angeles",
  "America/New_York",
  "America/Sao_Paulo",
  "Europe/London",
  "Europe/Berlin",
  "Africa/Lagos",
  "Asia/Dubai",
  "Asia/Kolkata",
  "Asia/Singapore",
  "Asia/Tokyo",
  "Australia/Sydney",
];

export function FilterBar(props: {
  view: View;
  state: ViewState;
  action: string;
  /** Offer stack/split/interval (charts) or not (tables). */
  grouping?: boolean;
  /** Dimensions the view fixes (a share link's tenant): not offered. */
  fixed?: string[];
}) {
  const { state, view } = props;
  const fixed = new Set(props.fixed ?? []);
  const dims = DIMENSIONS.filter((d) => !fixed.has(d));
  // A repeated parameter (tenant=a&tenant=b: either) keeps one input per value.
  const values = (name: string) => {
    const all = state.params.getAll(name);
    return all.length ? all : [""];
  };
  const tags = [...new Set([...state.params.keys()].filter((k) => k.startsWith("tag:")))];
  const tagOptions = [...dims, ...tags];
  return (
    <form method="get" action={props.action} class="filters" aria-label="Filters">
      {view.kind === "admin" ? <input type="hidden" name="account" value={view.accountId} /> : null}
      <label>
        From
        <input type="date" name="from" value={state.fromDate} />
      </label>
      <label>
        To (not included)
        <input type="date" name="to" value={state.toDate} />
      </label>
      <label>
        Time zone
        <input
          name="tz"
          value={state.tz}
          list="zones"
          size={16}
          {...(state.tzSource === "default" ? { "data-browser": "1" } : {})}
        />
        <datalist id="zones">
          {COMMON_ZONES.map((z) => (
            <option value={z} />
          ))}
        </datalist>
      </label>
      {props.grouping ? (
        <>
          <label>
            Stack by
            <input name="groupBy" value={state.stack} list="dims" size={10} />
          </label>
          <label>
            Split by
            <input name="split" value={state.split ?? ""} list="dims" size={10} placeholder="none" />
          </label>
          <datalist id="dims">
            {tagOptions.map((d) => (
              <option value={d} />
            ))}
          </datalist>
          <label>
            Interval
            <select name="interval">
              {["", "day", "week", "month"].map((i) => (
                <option
                  value={i}
                  {...(state.params.get("interval") === i || (!i && !state.params.get("interval"))
                    ? { selected: true }
                    : {})}
                >
                  {i || `auto (${state.interval})`}
                </option>
              ))}
            </select>
          </label>
        </>
      ) : null}
      <input type="submit" value="Apply" />
      <details class="more" {...(dims.some((d) => state.params.has(d)) || tags.length ? { open: true } : {})}>
        <summary>Filters</summary>
        <div class="row">
          {[...dims, ...tags].flatMap((d) =>
            values(d).map((v) => (
              <label>
                {d}
                <input name={d} value={v} size={12} />
              </label>
            )),
          )}
          <label>
            tag name
            <input name="tagName" size={8} />
          </label>
          <label>
            tag value
            <input name="tagValue" size={8} />
          </label>
        </div>
      </details>
    </form>
  );
}
