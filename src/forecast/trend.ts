/**
 * Projected spend from the trend of daily spend. With at least MIN_TREND_DAYS complete days of
 * history (counted from the scope's first spend, so a new tenant's empty past does not drag its
 * trend to zero), a least-squares line through the daily totals predicts each coming day (never
 * below zero); with fewer, the average daily spend so far. Today: what is spent so far plus the
 * rest of the day at the larger of the predicted and the current pace — a day running hot counts.
 * All amounts nano-USD (as floats only inside the projection; the caller rounds once).
 */

export const DAY_MS = 86_400_000;
export const TREND_DAYS = 14;
export const MIN_TREND_DAYS = 3;
/** How far a `total` budget (no period end) is projected. */
export const TOTAL_HORIZON_DAYS = 90;

export interface DailyModel {
  method: "trend" | "average";
  /** Predicted spend of today + `offset` days (0 = today, whole day). */
  day(offset: number): number;
  /** Per-day spend the rest of today runs at. */
  todayPace: number;
  /** nano-USD per day per day (0 for `average`). */
  slopePerDay: number;
}

/** `history`: complete days before today, oldest first; `todayNano` spent today by `fractionOfToday`. */
export function dailyModel(history: number[], todayNano: number, fractionOfToday: number): DailyModel {
  const first = history.findIndex((v) => v > 0);
  const days = first < 0 ? [] : history.slice(first);
  const f = Math.min(1, Math.max(fractionOfToday, 1 / 24));
  const currentPace = todayNano / f;
  if (days.length >= MIN_TREND_DAYS) {
    const n = days.length;
    // x = −n … −1 (days before today).
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    days.forEach((y, i) => {
      const x = i - n;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    });
    const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    const intercept = (sy - slope * sx) / n;
    const day = (offset: number) => Math.max(0, intercept + slope * offset);
    return { method: "trend", day, todayPace: Math.max(day(0), currentPace), slopePerDay: slope };
  }
  const total = days.reduce((s, v) => s + v, 0) + todayNano;
  const rate = total / (days.length + f);
  return { method: "average", day: () => rate, todayPace: Math.max(rate, currentPace), slopePerDay: 0 };
}

export interface Projection {
  /** Spent plus projected spend to the period end; null for `total` (no end). */
  projectedNano: number | null;
  /** When cumulative spend reaches the cap; null when not before the end (or the horizon). */
  exceedsAtMs: number | null;
}

/**
 * Walks forward from `nowMs`: the rest of today, then whole days, up to `endMs` (the period's end,
 * or the horizon for `total`).
 */
export function project(
  model: DailyModel,
  spentNano: number,
  capNano: number,
  nowMs: number,
  endMs: number | null,
): Projection {
  const stop = endMs ?? nowMs + TOTAL_HORIZON_DAYS * DAY_MS;
  let cumulative = spentNano;
  let exceedsAtMs: number | null = spentNano >= capNano ? nowMs : null;
  const crossAt = (fromMs: number, perMs: number) => {
    if (exceedsAtMs === null && perMs > 0 && cumulative < capNano) {
      exceedsAtMs = Math.round(fromMs + (capNano - cumulative) / perMs);
    }
  };
  const todayEnd = Math.min(Math.floor(nowMs / DAY_MS) * DAY_MS + DAY_MS, stop);
  // The rest of today.
  const restMs = Math.max(0, todayEnd - nowMs);
  const perMsToday = model.todayPace / DAY_MS;
  if (cumulative + perMsToday * restMs >= capNano) crossAt(nowMs, perMsToday);
  cumulative += perMsToday * restMs;
  // Whole (or last partial) days.
  for (let start = todayEnd, offset = 1; start < stop; start += DAY_MS, offset++) {
    const ms = Math.min(DAY_MS, stop - start);
    const perMs = model.day(offset) / DAY_MS;
    if (cumulative + perMs * ms >= capNano) crossAt(start, perMs);
    cumulative += perMs * ms;
  }
  return { projectedNano: endMs === null ? null : cumulative, exceedsAtMs };
}
