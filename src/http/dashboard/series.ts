/**
 * Usage rows → what a chart draws: the buckets of the range in the viewer's zone (every one, empty
 * ones too) and the series to stack — the largest values of the stack dimension by cost and one
 * explicit "N others" series for the rest, so the layers always add up to the bucket's total.
 */
import { addDays, localDate, monthStart } from "../../lib/zone";
import type { UsageGroup } from "../../reports/usage";
import type { Bucket, Series } from "./chart";

export const OTHERS = "\u0000others";
export const MAX_SERIES = 6;

/** The first day of the bucket a local date falls in (ISO weeks start on Monday, like date_trunc). */
export function bucketOf(date: string, interval: "day" | "week" | "month"): string {
  if (interval === "day") return date;
  if (interval === "month") return monthStart(date);
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
  return addDays(date, -weekday);
}

/** Every bucket start from the one holding `fromDate` up to (not including) `toDate`. */
export function bucketDates(fromDate: string, toDate: string, interval: "day" | "week" | "month"): string[] {
  const out: string[] = [];
  for (let d = bucketOf(fromDate, interval); d < toDate && out.length < 1000; ) {
    out.push(d);
    d = interval === "day" ? addDays(d, 1) : interval === "week" ? addDays(d, 7) : monthStart(addDays(d, 32));
  }
  return out;
}

/** Values of `dim` by total cost, largest first (ties by name), and how much each cost. */
export function ranked(groups: UsageGroup[], dim: string): { value: string; costNano: bigint }[] {
  const totals = new Map<string, bigint>();
  for (const g of groups) totals.set(g.dims[dim]!, (totals.get(g.dims[dim]!) ?? 0n) + g.sums.costNano);
  return [...totals]
    .map(([value, costNano]) => ({ value, costNano }))
    .sort((a, b) => (a.costNano === b.costNano ? (a.value < b.value ? -1 : 1) : a.costNano > b.costNano ? -1 : 1));
}

export function chartSeries(groups: UsageGroup[], dim: string): Series[] {
  const all = ranked(groups, dim);
  const shown = all.length > MAX_SERIES + 1 ? all.slice(0, MAX_SERIES) : all;
  const series: Series[] = shown.map((r) => ({ key: r.value, label: r.value }));
  const rest = all.length - shown.length;
  if (rest > 0) series.push({ key: OTHERS, label: `${rest} ${rest === 1 ? "other" : "others"}` });
  return series;
}

/** The buckets of one chart: `groups` (already only the split value's, when split) summed per bucket and series. */
export function chartBuckets(
  groups: UsageGroup[],
  dim: string,
  series: Series[],
  dates: string[],
  interval: "day" | "week" | "month",
  tz: string,
): Bucket[] {
  const named = new Set(series.filter((s) => s.key !== OTHERS).map((s) => s.key));
  const byDate = new Map(dates.map((d) => [d, { date: d, values: new Map<string, bigint>() } as Bucket]));
  for (const g of groups) {
    if (!g.periodStart) continue;
    const date = bucketOf(localDate(g.periodStart.getTime(), tz), interval);
    let b = byDate.get(date);
    if (!b) {
      // Outside the enumerated range (cannot happen for records in [from, to)); keep it visible anyway.
      b = { date, values: new Map() };
      byDate.set(date, b);
    }
    const key = named.has(g.dims[dim]!) ? g.dims[dim]! : OTHERS;
    b.values.set(key, (b.values.get(key) ?? 0n) + g.sums.costNano);
  }
  return [...byDate.values()].sort((a, b) => (a.date < b.date ? -1 : 1));
}
