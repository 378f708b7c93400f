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
