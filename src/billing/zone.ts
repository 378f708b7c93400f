/**
 * Invoice periods: calendar months in the account's IANA time zone (docs/billing.md §7; default
 * UTC). A call belongs to the month its request started in, so its rating state, its record and its
 * invoice agree. Month boundaries come from Intl (DST-safe: the offset is found at the boundary
 * itself); the hot path asks once per call, and an isolate remembers each zone's current month.
 */

export interface MonthWindow {
  /** YYYY-MM in the zone. */
  key: string;
  /** Inclusive start, ms since the epoch. */
  startMs: number;
  /** Exclusive end. */
  endMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const recent = new Map<string, MonthWindow>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether Intl knows the zone (the admin API's check). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock fields of an instant in a zone. */
function wallClock(
  timeZone: string,
  ms: number,
): { y: number; m: number; d: number; h: number; min: number; s: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return { y: parts.year!, m: parts.month!, d: parts.day!, h: parts.hour!, min: parts.minute!, s: parts.second! };
}

/** The zone's offset from UTC at an instant, ms (local − UTC). */
function offsetAt(timeZone: string, ms: number): number {
  const w = wallClock(timeZone, ms);
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.min, w.s) - Math.floor(ms / 1000) * 1000;
}

/** The instant at which the zone's wall clock reads y-m-01 00:00. */
function monthStart(timeZone: string, y: number, m: number): number {
  const local = Date.UTC(y, m - 1, 1);
  let at = local - offsetAt(timeZone, local);
  at = local - offsetAt(timeZone, at);
  return at;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** The month (in `timeZone`) that contains the instant `ms`. */
export function monthOf(timeZone: string, ms: number): MonthWindow {
  const hit = recent.get(timeZone);
  if (hit && hit.startMs <= ms && ms < hit.endMs) return hit;
  let window: MonthWindow;
  if (timeZone === "UTC") {
    const d = new Date(ms);
    const y = d.getUTCFullYear();
    const m = d.getUTCMonth();
    window = { key: `${y}-${pad(m + 1)}`, startMs: Date.UTC(y, m, 1), endMs: Date.UTC(y, m + 1, 1) };
  } else {
    const w = wallClock(timeZone, ms);
    const [ny, nm] = w.m === 12 ? [w.y + 1, 1] : [w.y, w.m + 1];
    window = {
      key: `${w.y}-${pad(w.m)}`,
      startMs: monthStart(timeZone, w.y, w.m),
      endMs: monthStart(timeZone, ny, nm),
    };
  }
  recent.set(timeZone, window);
  return window;
}

/** The month named `key` (YYYY-MM) in `timeZone`; null when the key is not a month. */
export function monthByKey(timeZone: string, key: string): MonthWindow | null {
  const m = /^(\d{4})-(\d{2})$/.exec(key);
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  if (mo < 1 || mo > 12) return null;
  const [ny, nm] = mo === 12 ? [y + 1, 1] : [y, mo + 1];
  if (timeZone === "UTC") return { key, startMs: Date.UTC(y, mo - 1, 1), endMs: Date.UTC(ny, nm - 1, 1) };
  return { key, startMs: monthStart(timeZone, y, mo), endMs: monthStart(timeZone, ny, nm) };
}
