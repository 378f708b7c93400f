import { describe, expect, it } from "vitest";
import type { UsageGroup } from "../../reports/usage";
import { emptySums } from "../../reports/usage";
import { bucketDates, bucketOf, chartBuckets, chartSeries, OTHERS } from "./series";

const group = (feature: string, periodStart: string, costNano: bigint): UsageGroup => ({
  dims: { feature },
  periodStart: new Date(periodStart),
  sums: { ...emptySums(), costNano },
});

describe("chart series and buckets", () => {
  it("lists every bucket of the range, empty ones too", () => {
    expect(bucketDates("2026-01-30", "2026-02-02", "day")).toEqual(["2026-01-30", "2026-01-31", "2026-02-01"]);
    // 2026-01-14 is a Wednesday: its week starts on Monday the 12th, like date_trunc('week').
    expect(bucketOf("2026-01-14", "week")).toBe("2026-01-12");
    expect(bucketDates("2026-01-14", "2026-01-27", "week")).toEqual(["2026-01-12", "2026-01-19", "2026-01-26"]);
    expect(bucketDates("2026-01-14", "2026-03-01", "month")).toEqual(["2026-01-01", "2026-02-01"]);
  });

  it("keeps the largest six values and one explicit 'N others'", () => {
    const groups = Array.from({ length: 9 }, (_, i) => group(`f${i}`, "2026-01-14T18:30:00Z", BigInt(100 - i)));
    const series = chartSeries(groups, "feature");
    expect(series.map((s) => s.label)).toEqual(["f0", "f1", "f2", "f3", "f4", "f5", "3 others"]);
    expect(series.at(-1)!.key).toBe(OTHERS);
    // Seven values fit without an "others" series.
    expect(chartSeries(groups.slice(0, 7), "feature")).toHaveLength(7);
  });

  it("sums each bucket in the viewer's zone; the layers add up to the total", () => {
    const groups = [
      group("a", "2026-01-14T18:30:00Z", 5n), // Kolkata's 15th
      group("b", "2026-01-14T18:30:00Z", 7n),
      group("a", "2026-01-15T18:30:00Z", 11n), // the 16th
    ];
    const series = chartSeries(groups, "feature");
    const buckets = chartBuckets(
      groups,
      "feature",
      series,
      ["2026-01-14", "2026-01-15", "2026-01-16"],
      "day",
      "Asia/Kolkata",
    );
    expect(buckets.map((b) => [b.date, Object.fromEntries(b.values)])).toEqual([
      ["2026-01-14", {}],
      ["2026-01-15", { a: 5n, b: 7n }],
      ["2026-01-16", { a: 11n }],
    ]);
  });
});
