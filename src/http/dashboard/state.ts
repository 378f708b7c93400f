/**
 * The state of a dashboard view lives in its URL, under the usage API's own parameter names —
 * from, to, tz, groupBy, interval, provider/model/feature/tenant/user/env/workflow/key, tag:<name> —
 * so a view is shareable and the query behind each number is the API query with the same string.
 * Dashboard-only: split (the second dimension), account (admins), before (the requests page's
 * cursor). The range is read by src/reports/range.ts like the API reads it.
 */

import { addDays, isTimeZone, localDate, monthStart, startOfDate } from "../../lib/zone";
import { DIMENSIONS, type Dimension, parseDimension } from "../../reports/dimensions";
import { type ReportRange, resolveRange } from "../../reports/range";
import type { Interval } from "../../reports/usage";

export interface ViewState {
  /** The query as given, cleaned (no empty values): what every link of the view carries on. */
  params: URLSearchParams;
  tz: string;
  /** Where tz came from: the URL, the browser's zone remembered in a cookie, or neither (UTC). */
  tzSource: "url" | "cookie" | "default";
  range: ReportRange;
  /** The range's first day and the day it ends before, in tz. */
  fromDate: string;
  toDate: string;
  stack: Dimension;
  split: Dimension | null;
  interval: Exclude<Interval, "hour" | "none">;
}

/** Parameters a view understands; anything else is dropped from links. */
const KEPT = new Set([
  "from",
  "to",
  "tz",
  "groupBy",
  "split",
  "interval",
  "account",
  "before",
  "format",
  "done",
  ...DIMENSIONS,
]);

/**
 * The cleaned query: empty fields dropped (a GET form sends every input), the tag filter's two
 * inputs folded into tag:<name>=value. null when nothing needed cleaning.
 */
export function cleanQuery(url: URL): URLSearchParams | null {
  const out = new URLSearchParams();
  let changed = false;
  const tagName = url.searchParams.get("tagName")?.trim();
  const tagValue = url.searchParams.get("tagValue")?.trim();
  for (const [k, v] of url.searchParams) {
    if (k === "tagName" || k === "tagValue") {
      changed = true;
      continue;
    }
    if (v.trim() === "" || !(KEPT.has(k) || k.startsWith("tag:"))) {
      changed = true;
      continue;
    }
    out.append(k, v.trim());
    if (v.trim() !== v) changed = true;
  }
  if (tagName && tagValue) out.append(`tag:${tagName}`, tagValue);
  return changed ? out : null;
}

/** All values per parameter, as Hono's c.req.queries() gives them. */
export function queriesOf(params: URLSearchParams): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of params) {
    out[k] ??= [];
    out[k].push(v);
  }
  return out;
}

const autoInterval = (days: number): ViewState["interval"] => (days <= 62 ? "day" : days <= 400 ? "week" : "month");

/**
 * The view's state. `fixed`: filters the view imposes whatever the URL says (a share link's
 * tenant). Throws invalid_request (400) like the API on a bad range or tag.
 */
export function readState(
  params: URLSearchParams,
  zoneCookie: string | undefined,
  fixed: Record<string, string> = {},
): ViewState {
  // What links carry on: not a one-off notice ("done") nor a download ("format").
  params = new URLSearchParams(params);
  params.delete("done");
  params.delete("format");
  for (const k of Object.keys(fixed)) params.delete(k);
  const urlTz = params.get("tz");
  const tz = urlTz && isTimeZone(urlTz) ? urlTz : zoneCookie && isTimeZone(zoneCookie) ? zoneCookie : "UTC";
  const tzSource = urlTz && isTimeZone(urlTz) ? "url" : zoneCookie && isTimeZone(zoneCookie) ? "cookie" : "default";
  const query = queriesOf(params);
  for (const [k, v] of Object.entries(fixed)) query[k] = [v];
  const range = resolveRange({ from: params.get("from") ?? undefined, to: params.get("to") ?? undefined }, query, {
    tz,
    maxDays: 3660,
  });
  const fromDate = localDate(range.from.getTime(), tz);
  const toDate =
    localDate(range.to.getTime() - 1, tz) === localDate(range.to.getTime(), tz)
      ? addDays(localDate(range.to.getTime(), tz), 1)
      : localDate(range.to.getTime(), tz);
  const days = Math.max(1, Math.round((range.to.getTime() - range.from.getTime()) / 86_400_000));
  const stackGiven = parseDimension(params.get("groupBy")?.split(",")[0] ?? "");
  const stack = stackGiven && !(stackGiven in fixed) ? stackGiven : "feature";
  const splitGiven = parseDimension(params.get("split") ?? "");
  const split = splitGiven && splitGiven !== stack && !(splitGiven in fixed) ? splitGiven : null;
  const asked = params.get("interval");
  const interval = asked === "day" || asked === "week" || asked === "month" ? asked : autoInterval(days);
  return { params, tz, tzSource, range: { ...range, tz }, fromDate, toDate, stack, split, interval };
}

/** The local calendar around now: today, tomorrow, this month and the next, in tz. */
export function calendar(nowMs: number, tz: string) {
  const today = localDate(nowMs, tz);
  const month = monthStart(today);
  const nextMonth = monthStart(addDays(month, 32));
  return {
    today: { from: startOfDate(today, tz), to: startOfDate(addDays(today, 1), tz), date: today },
    month: { from: startOfDate(month, tz), to: startOfDate(nextMonth, tz), date: month },
  };
}

/** `path` with `params` (a copy), some set or removed (null). */
export function href(path: string, params: URLSearchParams, set: Record<string, string | null> = {}): string {
  const p = new URLSearchParams(params);
  for (const [k, v] of Object.entries(set)) {
    if (v === null) p.delete(k);
    else p.set(k, v);
  }
  const q = p.toString();
  return q ? `${path}?${q}` : path;
}

/** The usage API query string behind a number: the view's filters and zone, the given range and grouping. */
export function apiQuery(
  state: ViewState,
  over: { from?: number; to?: number; groupBy?: Dimension[]; interval?: Interval },
): string {
  const p = new URLSearchParams();
  p.set("from", new Date(over.from ?? state.range.from.getTime()).toISOString());
  p.set("to", new Date(over.to ?? state.range.to.getTime()).toISOString());
  p.set("tz", state.tz);
  for (const f of state.range.filters) for (const v of f.values) p.append(f.dim, v);
  if (over.groupBy?.length) p.set("groupBy", over.groupBy.join(","));
  if (over.interval && over.interval !== "none") p.set("interval", over.interval);
  return p.toString();
}
