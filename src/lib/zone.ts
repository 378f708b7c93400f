/**
 * IANA time zones without a library: Intl carries ICU's zone data in workerd and in Node alike.
 * Reports bucket by a viewer's zone in Postgres (date_trunc(…, zone)); these helpers give the same
 * calendar on the Worker side — where a local day starts, which local date an instant falls on — so
 * ranges and chart axes line up with Postgres's buckets. Dates are "YYYY-MM-DD" strings: calendar
 * arithmetic on them never goes through an instant, so DST cannot shift a day.
 */

/** A zone name as Postgres and Intl both take it ("UTC", "Asia/Kolkata", "Etc/GMT+8"); never a bare offset,
 * whose sign Postgres reads the POSIX way (opposite of ISO 8601). */
const ZONE_NAME = /^(?:UTC|[A-Za-z]+(?:[/_-][A-Za-z0-9+_-]+)+)$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    if (formatters.size > 200) formatters.clear();
    formatters.set(tz, f);
  }
  return f;
}

export function isTimeZone(tz: string): boolean {
  if (!ZONE_NAME.test(tz) || tz.length > 64) return false;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock time in `tz` at an instant (whole seconds). */
export function localTime(ms: number, tz: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour! % 24,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** Local minus UTC, in ms, at an instant (Asia/Kolkata: +19,800,000). */
export function offsetMs(ms: number, tz: string): number {
  const t = localTime(ms, tz);
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** "YYYY-MM-DD" of the local date at an instant. */
export function localDate(ms: number, tz: string): string {
  const t = localTime(ms, tz);
  return `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function dateParts(date: string): [number, number, number] {
  const m = DATE.exec(date);
  if (!m) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Calendar arithmetic: "2026-02-28" + 1 → "2026-03-01". */
export function addDays(date: string, days: number): string {
  const [y, m, d] = dateParts(date);
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** The first day of the date's month: "2026-02-17" → "2026-02-01". */
export function monthStart(date: string): string {
  return `${date.slice(0, 7)}-01`;
}

/**
 * The instant a local wall-clock time happens in `tz`. A time that does not exist (skipped by a
 * DST change) or happens twice is read with the smaller of the two offsets around it (standard
 * time), as Postgres reads such local times — so a day that starts in a gap starts where
 * Postgres's date_trunc says it does.
 */
export function zonedInstant(date: string, tz: string, hour = 0, minute = 0, second = 0, milli = 0): number {
  const [y, m, d] = dateParts(date);
  const wall = Date.UTC(y, m - 1, d, hour, minute, second, milli);
  // Offsets a day and a half either side: every zone changes its offset at most once in 3 days.
  const offsets = [...new Set([offsetMs(wall - 129_600_000, tz), offsetMs(wall + 129_600_000, tz)])];
  const shows = (t: number) => {
    const l = localTime(t, tz);
    return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second) + milli === wall;
  };
  const exact = offsets.map((o) => wall - o).filter(shows);
  if (exact.length === 1) return exact[0]!;
  return wall - Math.min(...offsets);
}

/** 00:00 local of `date` in `tz`, as an instant. */
export function startOfDate(date: string, tz: string): number {
  return zonedInstant(date, tz);
}
