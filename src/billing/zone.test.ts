import { describe, expect, it } from "vitest";
import { monthByKey, monthOf } from "./zone";

describe("invoice months in a time zone", () => {
  it("UTC months", () => {
    expect(monthOf("UTC", Date.UTC(2026, 10, 30, 23, 59, 59))).toEqual({
      key: "2026-11",
      startMs: Date.UTC(2026, 10, 1),
      endMs: Date.UTC(2026, 11, 1),
    });
    expect(monthByKey("UTC", "2026-12")).toEqual({
      key: "2026-12",
      startMs: Date.UTC(2026, 11, 1),
      endMs: Date.UTC(2027, 0, 1),
    });
  });

  it("a month starts at local midnight, across DST changes", () => {
    // New York: EDT (−4) until 1 Nov 2026, then EST (−5).
    const nov = monthByKey("America/New_York", "2026-11")!;
    expect(new Date(nov.startMs).toISOString()).toBe("2026-11-01T04:00:00.000Z");
    expect(new Date(nov.endMs).toISOString()).toBe("2026-12-01T05:00:00.000Z");
    // 03:30 UTC on 1 Nov is still 31 Oct in New York.
    expect(monthOf("America/New_York", Date.UTC(2026, 10, 1, 3, 30)).key).toBe("2026-10");
    expect(monthOf("America/New_York", Date.UTC(2026, 10, 1, 4, 0)).key).toBe("2026-11");
    // Kolkata (+05:30): 18:30 UTC on the last day is local midnight.
    expect(monthOf("Asia/Kolkata", Date.UTC(2026, 10, 30, 18, 29)).key).toBe("2026-11");
    expect(monthOf("Asia/Kolkata", Date.UTC(2026, 10, 30, 18, 30)).key).toBe("2026-12");
  });

  it("rejects what is not a month", () => {
    expect(monthByKey("UTC", "2026-13")).toBeNull();
    expect(monthByKey("UTC", "2026-1")).toBeNull();
  });
});
