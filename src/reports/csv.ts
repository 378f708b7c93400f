/**
 * CSV for chargeback: RFC 4180 (CRLF, quotes doubled), a header line, one line per usage row.
 * Columns: the groupBy dimensions in the order asked, `periodStart` (empty with interval=none),
 * then METRIC_COLUMNS. A text cell that a spreadsheet would run as a formula (starts with = + - @,
 * tab or CR) gets a leading apostrophe; numbers and money are written as is.
 */
import { METRIC_COLUMNS, type UsageRowJson } from "./usage";

/** One CSV cell (exported for other CSVs: invoices). */
export function cell(value: unknown, text: boolean): string {
  if (value === null || value === undefined) return "";
  let s = String(value);
  if (text && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvColumns(groupBy: readonly string[]): string[] {
  return [...groupBy, "periodStart", ...METRIC_COLUMNS];
}

export function usageCsv(groupBy: readonly string[], rows: UsageRowJson[]): string {
  const columns = csvColumns(groupBy);
  const lines = [columns.map((c) => cell(c, true)).join(",")];
  for (const row of rows) {
    lines.push(columns.map((c, i) => cell(row[c], i < groupBy.length)).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** Any table as CSV with the same rules: `textColumns` are the ones a spreadsheet could read as a formula. */
export function csvTable(header: string[], rows: unknown[][], textColumns: string[] = []): string {
  const text = new Set(textColumns);
  const lines = [header.map((h) => cell(h, true)).join(",")];
  for (const row of rows) lines.push(row.map((v, i) => cell(v, text.has(header[i]!))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
