/**
 * The time range and filters every report takes, read from a query string's values: [from, to)
 * with its defaults (to: the next 00:00 UTC; from: to − 30 days) and limits, named dimensions
 * (repeatable, "(unallocated)" = none) and tag:<name>=value. A bad range or tag throws one
 * invalid_request naming every failing parameter.
 *
 * With a time zone (`tz`, IANA) the calendar is the viewer's: a date or a date-time without an
 * offset is local time there, and the defaults are local midnights (to: the next one; from: 30
 * local days before) — so a range of whole local days is whole days in that zone's buckets.
 */
import { nowMs } from "../lib/clock";
import { invalidRequest } from "../lib/errors";
import { addDays, localDate, startOfDate, zonedInstant } from "../lib/zone";
import { DIMENSIONS, type Dimension, type DimensionFilter, TAG_NAME } from "./dimensions";
import type { Interval } from "./usage";

const DAY_MS = 86_400_000;

export interface ReportRange {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  filters: DimensionFilter[];
  /** The zone the range was read in, when one was given: the reports bucket by it. */
  tz?: string;
}

/** How many days one report may span: hourly buckets 31, anything else about ten years. */
export function maxRangeDays(interval: Interval = "none"): number {
  return interval === "hour" ? 31 : 3660;
}

/** An ISO 8601 date or date-time, e.g. 2026-11-01, 2026-11-01T09:30, 2026-11-01T09:30:00+05:30. */
export const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * An instant from ISO text (ISO_INSTANT): with an offset it is absolute; without one it is wall
 * time in `tz` (UTC when absent). NaN when the text is no valid date.
 */
export function parseInstant(text: string, tz?: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/.exec(text);
  if (!m) return new Date(text).getTime();
  const [, date, h = "00", min = "00", sec = "00", frac = ""] = m;
  const ms = frac.padEnd(3, "0").slice(0, 3);
  const utc = new Date(`${date}T${h}:${min}:${sec}.${ms}Z`).getTime();
  // An impossible date ("2026-02-30") is no date, in any zone.
  if (Number.isNaN(utc) || new Date(utc).toISOString().slice(0, 10) !== date) return Number.NaN;
  if (!tz || tz === "UTC") return utc;
  return zonedInstant(date!, tz, Number(h), Number(min), Number(sec), Number(ms));
}

export interface RangeOptions {
  /** Longest span allowed, in days (maxRangeDays). */
  maxDays?: number;
  /** IANA zone of the viewer's calendar (checked by the caller, src/lib/zone.ts isTimeZone). */
  tz?: string;
}

/** The default end: the next 00:00 (UTC, or local in `tz`), and the start 30 days before it. */
function defaultBounds(tz: string | undefined): { from: number; to: number } {
  const now = nowMs();
  if (!tz || tz === "UTC") {
    const to = Math.ceil(now / DAY_MS) * DAY_MS;
    return { from: to - 30 * DAY_MS, to };
  }
  const tomorrow = addDays(localDate(now, tz), 1);
  return { from: startOfDate(addDays(tomorrow, -30), tz), to: startOfDate(tomorrow, tz) };
}

/**
 * `bounds`: from and to as given (ISO text, or already Dates; absent = default); `query`: every
 * query parameter with all its values (Hono's c.req.queries(), or URLSearchParams gathered the
 * same way).
 */
export function resolveRange(
  bounds: { from?: string | Date; to?: string | Date },
  query: Record<string, string[]>,
  opts: RangeOptions = {},
): ReportRange {
  const maxDays = opts.maxDays ?? maxRangeDays();
  const issues: { path: string; message: string }[] = [];
  const read = (name: "from" | "to", v: string | Date | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const ms = v instanceof Date ? v.getTime() : parseInstant(v, opts.tz);
    if (Number.isNaN(ms)) issues.push({ path: name, message: "not a valid date" });
    return ms;
  };
  const given = { from: read("from", bounds.from), to: read("to", bounds.to) };
  if (issues.length) throw invalidRequest(issues);
  const fallback = defaultBounds(opts.tz);
  // A `to` alone keeps the 30-day span; a `from` alone ends at the default end.
  const to = new Date(given.to ?? fallback.to);
  const from = new Date(
    given.from ??
      (given.to === undefined
        ? fallback.from
        : opts.tz && opts.tz !== "UTC"
          ? startOfDate(addDays(localDate(to.getTime(), opts.tz), -30), opts.tz)
          : to.getTime() - 30 * DAY_MS),
  );
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
  return { from, to, filters, ...(opts.tz ? { tz: opts.tz } : {}) };
}
