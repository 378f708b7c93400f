import { describe, expect, it } from "vitest";
import { addDays, isTimeZone, localDate, monthStart, offsetMs, startOfDate, zonedInstant } from "./zone";

describe("time zones", () => {
  it("accepts zone names, never bare offsets (Postgres reads their sign the POSIX way)", () => {
    for (const tz of ["UTC", "Asia/Kolkata", "America/Los_Angeles", "Etc/GMT+8", "America/Argentina/Buenos_Aires"])
      expect(isTimeZone(tz), tz).toBe(true);
    for (const tz of ["+05:30", "-08:00", "Mars/Olympus", "", "UTC; drop table", "Asia/Kolkata'"])
      expect(isTimeZone(tz), tz).toBe(false);
  });

  it("finds local midnight at +05:30 and −08:00", () => {
    expect(new Date(startOfDate("2026-01-15", "Asia/Kolkata")).toISOString()).toBe("2026-01-14T18:30:00.000Z");
    expect(new Date(startOfDate("2026-01-15", "America/Los_Angeles")).toISOString()).toBe("2026-01-15T08:00:00.000Z");
    expect(new Date(startOfDate("2026-07-15", "America/Los_Angeles")).toISOString()).toBe("2026-07-15T07:00:00.000Z");
    expect(offsetMs(Date.parse("2026-01-15T00:00:00Z"), "Asia/Kolkata")).toBe(19_800_000);
  });

  it("names the local date of an instant either side of local midnight", () => {
    expect(localDate(Date.parse("2026-01-14T18:29:59.999Z"), "Asia/Kolkata")).toBe("2026-01-14");
    expect(localDate(Date.parse("2026-01-14T18:30:00.000Z"), "Asia/Kolkata")).toBe("2026-01-15");
    expect(localDate(Date.parse("2026-01-15T07:59:59.999Z"), "America/Los_Angeles")).toBe("2026-01-14");
    expect(localDate(Date.parse("2026-01-15T08:00:00.000Z"), "America/Los_Angeles")).toBe("2026-01-15");
  });

  it("keeps days whole across DST changes (23 and 25 hour days)", () => {
    const day = (d: string) =>
      startOfDate(addDays(d, 1), "America/Los_Angeles") - startOfDate(d, "America/Los_Angeles");
    expect(day("2026-03-08")).toBe(23 * 3_600_000);
    expect(day("2026-11-01")).toBe(25 * 3_600_000);
    expect(day("2026-06-01")).toBe(24 * 3_600_000);
  });

  it("reads a skipped or repeated wall time with standard time, as Postgres does", () => {
    // 02:30 does not exist on 2026-03-08 in Los Angeles; 01:30 happens twice on 2026-11-01.
    expect(new Date(zonedInstant("2026-03-08", "America/Los_Angeles", 2, 30)).toISOString()).toBe(
      "2026-03-08T10:30:00.000Z",
    );
    expect(new Date(zonedInstant("2026-11-01", "America/Los_Angeles", 1, 30)).toISOString()).toBe(
      "2026-11-01T09:30:00.000Z",
    );
  });

  it("does calendar arithmetic on dates", () => {
    expect(addDays("2026-02-28", 1)).toBe("2026-03-01");
    expect(addDays("2028-02-28", 1)).toBe("2028-02-29");
    expect(addDays("2026-01-01", -1)).toBe("2025-12-31");
    expect(monthStart("2026-02-17")).toBe("2026-02-01");
  });
});
