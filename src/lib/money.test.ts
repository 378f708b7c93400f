import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nanoToUsd, usdToNano } from "./money";

describe("money", () => {
  it("parses decimal USD into integer nano-USD", () => {
    expect(usdToNano("12.50")).toBe(12_500_000_000n);
    expect(usdToNano("0.000000001")).toBe(1n);
    expect(usdToNano("-3")).toBe(-3_000_000_000n);
  });
  it("rejects what is not an amount", () => {
    for (const bad of ["", "1e3", "1.0000000001", "abc", "+1", "1."]) expect(() => usdToNano(bad)).toThrow(RangeError);
  });
  it("formats nano-USD with at least two decimals", () => {
    expect(nanoToUsd(1_046_000n)).toBe("0.001046");
    expect(nanoToUsd(12_500_000_000n)).toBe("12.50");
    expect(nanoToUsd(0)).toBe("0.00");
    expect(nanoToUsd(-1n)).toBe("-0.000000001");
  });
  it("round-trips every amount", () => {
    fc.assert(fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), (n) => usdToNano(nanoToUsd(n)) === n));
  });
});
