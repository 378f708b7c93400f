import { describe, expect, it } from "vitest";
import { formatCount, formatDateTime, formatUsd, utcTitle } from "./format";

describe("dashboard formatting", () => {
  it("writes money with sensible decimals, rounded in integers", () => {
    expect(formatUsd(0n)).toBe("$0.00");
    expect(formatUsd("1234.565")).toBe("$1,234.57");
    expect(formatUsd("12.5")).toBe("$12.50");
    expect(formatUsd("0.123456")).toBe("$0.1235");
    expect(formatUsd("0.01")).toBe("$0.0100");
    expect(formatUsd("0.001046")).toBe("$0.0010");
    expect(formatUsd("0.000046")).toBe("$0.000046");
    expect(formatUsd("0.0000461")).toBe("$0.000046");
    expect(formatUsd("0.000000002")).toBe("$0.000000002");
    expect(formatUsd(-1_500_000_000n)).toBe("−$1.50");
    // 0.1 + 0.2 in floats is 0.30000000000000004; in nano-USD it is 0.3.
    expect(formatUsd(100_000_000n + 200_000_000n)).toBe("$0.3000");
  });

  it("separates thousands", () => {
    expect(formatCount(0)).toBe("0");
    expect(formatCount(1234567n)).toBe("1,234,567");
    expect(formatCount(999)).toBe("999");
  });

  it("shows local time with UTC on hover", () => {
    const ms = Date.parse("2026-01-14T18:30:00Z");
    expect(formatDateTime(ms, "Asia/Kolkata")).toBe("15 Jan 2026, 00:00:00");
    expect(utcTitle(ms)).toBe("2026-01-14 18:30:00 UTC");
  });
});
