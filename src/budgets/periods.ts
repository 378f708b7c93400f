/**
 * Budget periods, UTC calendar: a day, an ISO week (Monday 00:00 to the next Monday), a calendar
 * month, or `total` (never rolls). Every function takes `now` (ms since the epoch) so tests control
 * the clock. The period key is what Redis counter keys carry: `2026-11-23`, `2026-W48`, `2026-11`,
 * `total`.
 */
export const PERIODS = ["day", "week", "month", "total"] as const;
export type Period = (typeof PERIODS)[number];

export interface PeriodWindow {
  period: Period;
  /** The suffix of this period's counter keys. */
  key: string;
  /** Inclusive start, ms; null for `total`. */
  startMs: number | null;
  /** Exclusive end, ms; null for `total`. */
  endMs: number | null;
}

const DAY_MS = 86_400_000;
/** Counters live this long after their period ends: late settles still land, then they go. */
export const COUNTER_GRACE_SECONDS = 2 * 86_400;

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** ISO 8601 week-year and week number of a UTC instant. */
export function isoWeek(ms: number): { year: number; week: number; startMs: number } {
  const day = startOfUtcDay(ms);
  const dow = (new Date(day).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const startMs = day - dow * DAY_MS;
  // The week belongs to the year its Thursday falls in.
  const thursday = new Date(startMs + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return { year, week, startMs };
}

export function periodWindow(period: Period, now: number): PeriodWindow {
  const d = new Date(now);
  switch (period) {
    case "day": {
      const startMs = startOfUtcDay(now);
      return {
        period,
        key: `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
        startMs,
        endMs: startMs + DAY_MS,
      };
    }
    case "week": {
      const w = isoWeek(now);
      return { period, key: `${w.year}-W${pad(w.week)}`, startMs: w.startMs, endMs: w.startMs + 7 * DAY_MS };
    }
    case "month": {
      const y = d.getUTCFullYear();
      const m = d.getUTCMonth();
      return { period, key: `${y}-${pad(m + 1)}`, startMs: Date.UTC(y, m, 1), endMs: Date.UTC(y, m + 1, 1) };
    }
    case "total":
      return { period, key: "total", startMs: null, endMs: null };
  }
}

/** Unix seconds at which this period's counters may go (end + grace); null: keep (`total`). */
export function counterExpireAt(window: PeriodWindow): number | null {
  return window.endMs === null ? null : Math.floor(window.endMs / 1000) + COUNTER_GRACE_SECONDS;
}

/** "monthly", "for the week 2026-W48", … for human messages. */
export function describePeriod(window: PeriodWindow): string {
  switch (window.period) {
    case "day":
      return `day ${window.key} (UTC)`;
    case "week":
      return `week ${window.key} (ISO, UTC)`;
    case "month":
      return `month ${window.key} (UTC)`;
    case "total":
      return "all time (total)";
  }
}
