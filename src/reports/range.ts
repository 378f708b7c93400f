/**
 * The time range and filters every report takes, read from a query string's values: [from, to)
 * with its defaults (to: the next 00:00 UTC; from: to − 30 days) and limits, named dimensions
 * (repeatable, "(unallocated)" = none) and tag:<name>=value. A bad range or tag throws one
 * invalid_request naming every failing parameter.
 */
import { nowMs } from "../lib/clock";
import { invalidRequest } from "../lib/errors";
import { DIMENSIONS, type Dimension, type DimensionFilter, TAG_NAME } from "./dimensions";
import type { Interval } from "./usage";

const DAY_MS = 86_400_000;

export interface ReportRange {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  filters: DimensionFilter[];
}

/** How many days one report may span: hourly buckets 31, anything else about ten years. */
export function maxRangeDays(interval: Interval = "none"): number {
  return interval === "hour" ? 31 : 3660;
}

/**
 * `bounds`: from and to as parsed (absent = default); `query`: every query parameter with all its
 * values (Hono's c.req.queries(), or URLSearchParams gathered the same way).
 */
export function resolveRange(
  bounds: { from?: Date; to?: Date },
  query: Record<string, string[]>,
  maxDays = maxRangeDays(),
): ReportRange {
  const to = bounds.to ?? new Date(Math.ceil(nowMs() / DAY_MS) * DAY_MS);
  const from = bounds.from ?? new Date(to.getTime() - 30 * DAY_MS);
  const issues: { path: string; message: string }[] = [];
  if (from >= to) issues.push({ path: "to", message: "must be after from" });
  else if (to.getTime() - from.getTime() > maxDays * DAY_MS)
    issues.push({ path: "to", message: `at most ${maxDays} days after from` });
  const filters: DimensionFilter[] = [];
  for (const d of DIMENSIONS) {
    const values = query[d];
    if (values?.length) filters.push({ dim: d, values });
  }
  for (const [name, values] of Object.entries(query)) {
    if (!name.startsWith("tag:")) continue;
    if (!TAG_NAME.test(name.slice(4)))
      issues.push({ path: name, message: "tag names are letters, digits, _ . - (at most 64)" });
    else if (values.some((v) => v.length === 0 || v.length > 300))
      issues.push({ path: name, message: "1 to 300 characters" });
    else filters.push({ dim: name as Dimension, values });
  }
  if (issues.length) throw invalidRequest(issues);
  return { from, to, filters };
}
