import { describe, expect, it } from "vitest";
import { apiQuery, cleanQuery, readState } from "./state";

describe("a view's state in its URL", () => {
  it("drops empty fields and folds the tag inputs into tag:<name>", () => {
    const clean = cleanQuery(
      new URL("http://x/dashboard?from=2026-01-01&tenant=&feature=chat&tagName=team&tagValue=a&junk=1"),
    );
    expect(clean?.toString()).toBe("from=2026-01-01&feature=chat&tag%3Ateam=a");
    expect(cleanQuery(new URL("http://x/dashboard?from=2026-01-01&feature=chat"))).toBeNull();
  });

  it("reads dates in the zone, the URL's first, then the browser's cookie, then UTC", () => {
    const p = new URLSearchParams("from=2026-01-14&to=2026-01-16&tz=Asia/Kolkata&groupBy=tenant&split=model");
    const s = readState(p, "America/Los_Angeles");
    expect([s.tz, s.tzSource]).toEqual(["Asia/Kolkata", "url"]);
    expect(s.range.from.toISOString()).toBe("2026-01-13T18:30:00.000Z");
    expect([s.fromDate, s.toDate, s.stack, s.split, s.interval]).toEqual([
      "2026-01-14",
      "2026-01-16",
      "tenant",
      "model",
      "day",
    ]);
    const cookie = readState(new URLSearchParams("from=2026-01-14&to=2026-01-16"), "America/Los_Angeles");
    expect([cookie.tz, cookie.tzSource, cookie.range.from.toISOString()]).toEqual([
      "America/Los_Angeles",
      "cookie",
      "2026-01-14T08:00:00.000Z",
    ]);
    expect(readState(new URLSearchParams(), "not/a zone").tzSource).toBe("default");
  });

  it("fixes what the view imposes (a share link's tenant), whatever the URL says", () => {
    const s = readState(new URLSearchParams("tenant=globex&groupBy=tenant"), undefined, { tenant: "acme" });
    expect(s.range.filters).toEqual([{ dim: "tenant", values: ["acme"] }]);
    expect(s.stack).toBe("feature");
    expect(s.params.has("tenant")).toBe(false);
    expect(apiQuery(s, {})).toContain("tenant=acme");
  });

  it("picks the interval from the span unless one is asked for", () => {
    const span = (from: string, to: string, extra = "") =>
      readState(new URLSearchParams(`from=${from}&to=${to}${extra}`), undefined).interval;
    expect(span("2026-01-01", "2026-02-01")).toBe("day");
    expect(span("2026-01-01", "2026-06-01")).toBe("week");
    expect(span("2024-01-01", "2026-06-01")).toBe("month");
    expect(span("2026-01-01", "2026-02-01", "&interval=week")).toBe("week");
  });
});
