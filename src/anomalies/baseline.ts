/**
 * A series' own baseline, and the verdict on its last hour. The series is one tenant, feature or
 * key of an account; its samples are its spend in each of the 168 hours (7 days) before the
 * window, zeros included. Two expectations, the larger wins:
 *   - the trailing mean of all 168 hours (with their standard deviation σ), and
 *   - the mean of the same hour of the day over those 7 days (a series that is busy every morning
 *     is expected to be busy this morning).
 * Opening an episode takes all three: spend ≥ the minimum, ≥ `ratio` × expected, and ≥ expected +
 * `sigmas` σ. It stays open while spend is ≥ half the minimum, ≥ `holdRatio` × expected and ≥
 * expected + `holdSigmas` σ, so a series hovering at the threshold does not alert again and again.
 * A series first seen less than a day ago has no baseline worth the name: it opens only at
 * `newSeriesMinNano` (a brand-new spender that large is news).
 */

export interface SpendThresholds {
  /** The window's spend must be at least this (nano-USD). */
  minNano: bigint;
  newSeriesMinNano: bigint;
  ratio: number;
  sigmas: number;
  holdRatio: number;
  holdSigmas: number;
}

export const DEFAULT_SPEND_THRESHOLDS: SpendThresholds = {
  minNano: 1_000_000_000n,
  newSeriesMinNano: 5_000_000_000n,
  ratio: 3,
  sigmas: 4,
  holdRatio: 1.5,
  holdSigmas: 2,
};

export const BASELINE_HOURS = 168;

export interface Baseline {
  /** nano-USD per hour. */
  mean: number;
  stddev: number;
  sameHourMean: number;
  expected: number;
  /** Hours since the series' first spend in the baseline (≤ 168); < 24 is a new series. */
  hoursSeen: number;
}

/** `hourly[k]`: spend k+1 hours before the window's start … i.e. index 0 is the hour just before it. */
export function baselineOf(hourly: number[]): Baseline {
  const n = BASELINE_HOURS;
  let sum = 0;
  let sumSq = 0;
  let oldest = -1;
  for (let k = 0; k < n; k++) {
    const v = hourly[k] ?? 0;
    sum += v;
    sumSq += v * v;
    if (v > 0) oldest = k;
  }
  const mean = sum / n;
  const stddev = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
  // The same hour of the day as the window: 24, 48, … hours before it starts (index 23, 47, …).
  let same = 0;
  for (let d = 1; d <= 7; d++) same += hourly[d * 24 - 1] ?? 0;
  const sameHourMean = same / 7;
  return { mean, stddev, sameHourMean, expected: Math.max(mean, sameHourMean), hoursSeen: oldest + 1 };
}

export type Verdict = "open" | "hold" | "normal";

export function verdict(windowNano: number, b: Baseline, t: SpendThresholds): Verdict {
  const fresh = b.hoursSeen < 24;
  const min = Number(fresh ? t.newSeriesMinNano : t.minNano);
  if (windowNano >= min && windowNano >= t.ratio * b.expected && windowNano >= b.expected + t.sigmas * b.stddev) {
    return "open";
  }
  if (
    windowNano >= Number(t.minNano) / 2 &&
    windowNano >= t.holdRatio * b.expected &&
    windowNano >= b.expected + t.holdSigmas * b.stddev
  ) {
    return "hold";
  }
  return "normal";
}
