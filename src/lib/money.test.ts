import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decimalToNano, nanoToUsd, usdToNano } from "./money";

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

describe("decimalToNano", () => {
  it("reads provider amounts exactly, rounding half up at the nano-dollar", () => {
    expect(decimalToNano("0.06")).toBe(60_000_000n);
    expect(decimalToNano(0.06)).toBe(60_000_000n);
    expect(decimalToNano(1.5e-7)).toBe(150n);
    expect(decimalToNano(1.2345e3)).toBe(1_234_500_000_000n);
    expect(decimalToNano("0.0000000015")).toBe(2n);
    expect(decimalToNano("0.0000000014")).toBe(1n);
    expect(decimalToNano("-0.0000000015")).toBe(-2n);
    // Anthropic's cost report: cents as a decimal string, "123.45" = $1.2345.
    expect(decimalToNano("123.78912", 10_000_000n)).toBe(1_237_891_200n);
    expect(decimalToNano(".5", 10_000_000n)).toBe(5_000_000n);
    expect(() => decimalToNano("1,5")).toThrow(RangeError);
  });
});
