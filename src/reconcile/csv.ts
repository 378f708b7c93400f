/**
 * Console CSV exports. The layout is told by the header line:
 * - OpenAI, Usage page → Export → Cost data (grouped by line item, 1-day interval):
 *   start_time, end_time (Unix seconds), amount_value, amount_currency, line_item, project_id,
 *   organization_id, project_name, organization_name — the Costs API's fields, flattened.
 * - Anthropic: the cost report's fields as columns (starting_at or date, amount in cents — or
 *   cost_usd in dollars —, currency, cost_type, token_type, model, description, …). Anthropic does
 *   not document its console export's columns, so columns are matched by these names and the
 *   error says which are missing.
 * RFC 4180: quoted fields, doubled quotes, CRLF or LF; a byte-order mark is ignored.
 */
import { invalidRequest } from "../lib/errors";
import { anthropicCostLine } from "./anthropic";
import { costLine, type Parsed } from "./openai";
import { dayOf, type ReconcileProvider } from "./types";

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  const s = text.replace(/^\uFEFF/, "");
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && s[i + 1] === "\n") i++;
      row.push(field);
      if (row.some((f) => f !== "")) rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f !== "")) rows.push(row);
  return rows;
}

function dayFrom(value: string): string | null {
  const v = value.trim();
  if (/^\d{9,11}$/.test(v)) return dayOf(new Date(Number(v) * 1000));
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  return Number.isFinite(t) ? dayOf(new Date(t)) : null;
}

const csvError = (message: string) => invalidRequest([{ path: "csv", message }]);

export function parseCostCsv(provider: ReconcileProvider, text: string): Parsed {
  const [header, ...rows] = parseCsv(text);
  if (!header) throw csvError("the CSV is empty");
  const cols = header.map((h) => h.trim().toLowerCase());
  const col = (...names: string[]) => names.map((n) => cols.indexOf(n)).find((i) => i >= 0) ?? -1;
  const acc: Parsed = { lines: [], notes: [], from: null, to: null };
  const dayCol = col("start_time", "starting_at", "date", "usage_date_utc", "day");
  const widen = (day: string) => {
    if (!acc.from || day < acc.from) acc.from = day;
    const after = dayOf(new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000));
    if (!acc.to || after > acc.to) acc.to = after;
  };
  if (provider === "openai") {
    const amount = col("amount_value");
    const lineItem = col("line_item");
    const currency = col("amount_currency");
    if (dayCol < 0 || amount < 0) {
      throw csvError(
        "an OpenAI cost CSV has start_time, amount_value and line_item columns (Usage → Export → Cost data)",
      );
    }
    for (const [i, r] of rows.entries()) {
      const day = dayFrom(r[dayCol] ?? "");
      if (!day) throw csvError(`row ${i + 2}: start_time is not a time`);
      widen(day);
      const line = costLine(
        day,
        r[amount],
        currency >= 0 ? r[currency] : "usd",
        lineItem >= 0 ? r[lineItem] : null,
        acc.notes,
      );
      if (line) acc.lines.push(line);
    }
    return acc;
  }
  const cents = col("amount");
  const dollars = col("cost_usd", "amount_usd");
  if (dayCol < 0 || (cents < 0 && dollars < 0)) {
    throw csvError(
      "an Anthropic cost CSV has the cost report's fields as columns: starting_at (or date), amount (cents) or cost_usd, and cost_type/token_type/model",
    );
  }
  for (const [i, r] of rows.entries()) {
    const day = dayFrom(r[dayCol] ?? "");
    if (!day) throw csvError(`row ${i + 2}: ${cols[dayCol]} is not a date`);
    widen(day);
    const field = (name: string) => {
      const k = cols.indexOf(name);
      return k >= 0 ? r[k] : undefined;
    };
    // Dollars become cents, so one parser reads both.
    const amount = cents >= 0 ? r[cents] : dollarsToCents(r[dollars] ?? "");
    const line = anthropicCostLine(
      day,
      {
        amount,
        currency: field("currency"),
        cost_type: field("cost_type"),
        token_type: field("token_type"),
        model: field("model"),
        description: field("description"),
      },
      acc.notes,
    );
    if (line) acc.lines.push(line);
  }
  return acc;
}

/** "1.2345" → "123.45": moves the decimal point two places without float arithmetic. */
function dollarsToCents(usd: string): string {
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(usd.trim());
  if (!m) return usd;
  const [, sign, whole = "", frac = ""] = m;
  const f = frac.padEnd(2, "0");
  return `${sign}${whole}${f.slice(0, 2)}${f.length > 2 ? `.${f.slice(2)}` : ""}`;
}
