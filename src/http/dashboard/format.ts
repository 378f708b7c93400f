/**
 * How the dashboard writes numbers and times. Money arrives as integer nano-USD (or the API's exact
 * decimal strings) and is rounded here, in bigint, for display only — the exact value stays in the
 * element's title and data-usd. Counts get thousands separators; times are the viewer's zone with
 * UTC on hover.
 */
import { nanoToUsd, usdToNano } from "../../lib/money";
import { localTime } from "../../lib/zone";

/** Rounds half away from zero to a multiple of 10^(9 − decimals) nano-USD. */
function roundNano(nano: bigint, decimals: number): bigint {
  const unit = 10n ** BigInt(9 - decimals);
  const half = unit / 2n;
  const abs = nano < 0n ? -nano : nano;
  const rounded = ((abs + half) / unit) * unit;
  return nano < 0n ? -rounded : rounded;
}

const group = (digits: string) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/**
 * "$1,234.57", "$0.1234", "$0.000046": two decimals from a dollar up, four from a cent, and below a
 * cent enough to show two significant digits (at most nine). Zero is "$0.00".
 */
export function formatUsd(value: bigint | string): string {
  const nano = typeof value === "string" ? usdToNano(value) : value;
  const abs = nano < 0n ? -nano : nano;
  let decimals = 2;
  if (abs !== 0n && abs < 1_000_000_000n) {
    if (abs >= 10_000_000n) decimals = 4;
    else decimals = Math.min(9, 11 - abs.toString().length);
  }
  const r = roundNano(nano, decimals);
  const [whole, frac = ""] = nanoToUsd(r < 0n ? -r : r).split(".");
  const f = frac.padEnd(decimals, "0").slice(0, decimals);
  return `${r < 0n ? "−" : ""}$${group(whole!)}${decimals > 0 ? `.${f}` : ""}`;
}

/** 1234567 → "1,234,567". */
export function formatCount(n: bigint | number): string {
  const s = BigInt(n).toString();
  return s.startsWith("-") ? `−${group(s.slice(1))}` : group(s);
}

/** A share 0–1 as "12.5 %" (one decimal), or "–" when unknown. */
export function formatShare(share: number | null): string {
  return share === null ? "–" : `${(Math.round(share * 1000) / 10).toFixed(1)} %`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const p2 = (n: number) => String(n).padStart(2, "0");

/** "15 Jan 2026, 09:30" in the zone. */
export function formatDateTime(ms: number, tz: string): string {
  const t = localTime(ms, tz);
  return `${t.day} ${MONTHS[t.month - 1]} ${t.year}, ${p2(t.hour)}:${p2(t.minute)}:${p2(t.second)}`;
}

/** "2026-01-15T09:30:00Z" shown as UTC on hover: "2026-01-15 09:30:00 UTC". */
export function utcTitle(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** "2026-01-15" → "15 Jan" (axis labels) or "15 Jan 2026". */
export function formatDate(date: string, withYear = true): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return `${d} ${MONTHS[m - 1]}${withYear ? ` ${y}` : ""}`;
}

/** ms → "1.2 s" or "340 ms"; null → "–". */
export function formatMs(ms: number | null): string {
  if (ms === null) return "–";
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}
