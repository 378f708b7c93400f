/**
 * Money is an integer count of nano-USD (1e-9 USD) everywhere inside Tollgate. It becomes a
 * decimal string only at the API edge. These two functions are that edge.
 */
export const NANO_PER_USD = 1_000_000_000n;

/** "12.50" → 12_500_000_000n. Rejects more than 9 decimals, signs other than a leading "-", exponents. */
export function usdToNano(usd: string): bigint {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?$/.exec(usd.trim());
  if (!m) throw new RangeError(`not a USD amount with at most 9 decimals: ${JSON.stringify(usd)}`);
  const [, sign, whole, frac = ""] = m;
  const nano = BigInt(whole as string) * NANO_PER_USD + BigInt(frac.padEnd(9, "0"));
  return sign ? -nano : nano;
}

/** 1_046_000n → "0.001046": trailing zeros trimmed, at least two decimals kept ("12.50"). */
export function nanoToUsd(nano: bigint | number): string {
  let n = BigInt(nano);
  const negative = n < 0n;
  if (negative) n = -n;
  const whole = n / NANO_PER_USD;
  let frac = (n % NANO_PER_USD).toString().padStart(9, "0").replace(/0+$/, "");
  if (frac.length < 2) frac = frac.padEnd(2, "0");
  return `${negative ? "-" : ""}${whole}.${frac}`;
}

/**
 * A provider's decimal amount → integer nano-USD, rounded half up (away from zero) at the 9th
 * decimal of a dollar. `nanoPerUnit` says what the amount counts: 1e9 for USD (OpenAI's
 * `amount.value`), 1e7 for cents (Anthropic's `amount` in "lowest currency units"). Numbers are
 * read through their shortest decimal string, so no float arithmetic touches the amount.
 */
export function decimalToNano(amount: string | number, nanoPerUnit: bigint = NANO_PER_USD): bigint {
  let text = typeof amount === "number" ? amount.toString() : amount.trim();
  if (typeof amount === "number" && !Number.isFinite(amount)) throw new RangeError(`not an amount: ${amount}`);
  const exp = /^(-?)(\d*)(?:\.(\d*))?e([+-]?\d+)$/i.exec(text);
  if (exp) {
    // 1.5e-7 → shift the decimal point by hand.
    const [, sign, whole = "", frac = "", e] = exp;
    const digits = `${whole}${frac}`.replace(/^0+(?=\d)/, "") || "0";
    const point = whole.length + Number(e);
    text =
      point <= 0
        ? `${sign}0.${"0".repeat(-point)}${digits}`
        : point >= digits.length
          ? `${sign}${digits}${"0".repeat(point - digits.length)}`
          : `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  const m = /^(-)?(\d+)(?:\.(\d+))?$/.exec(text) ?? /^(-)?()\.(\d+)$/.exec(text);
  if (!m) throw new RangeError(`not a decimal amount: ${JSON.stringify(amount)}`);
  const [, sign, whole = "", frac = ""] = m;
  const scale = 10n ** BigInt(frac.length);
  const numerator = (BigInt(whole || "0") * scale + BigInt(frac || "0")) * nanoPerUnit;
  const nano = (numerator * 2n + scale) / (2n * scale);
  return sign ? -nano : nano;
}
