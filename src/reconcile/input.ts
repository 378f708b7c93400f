/**
 * What an upload may hold, turned into the provider's side of a report (TheirReport): the JSON
 * responses of the provider's usage and cost APIs (one page, or an array of pages), and/or its
 * console's cost CSV. A part that is not what it claims to be is a 400 naming that part.
 */
import { invalidRequest } from "../lib/errors";
import { parseAnthropicCosts, parseAnthropicUsage } from "./anthropic";
import { parseCostCsv } from "./csv";
import { type Parsed, parseOpenAICosts, parseOpenAIUsage } from "./openai";
import type { ReconcileProvider, TheirReport } from "./types";

export interface ProviderData {
  provider: ReconcileProvider;
  /** OpenAI: GET /v1/organization/usage/completions; Anthropic: GET /v1/organizations/usage_report/messages. */
  usage?: unknown;
  /** OpenAI: GET /v1/organization/costs; Anthropic: GET /v1/organizations/cost_report. */
  costs?: unknown;
  /** The console's cost export (csv.ts). */
  csv?: string;
}

const NAMES: Record<ReconcileProvider, { usage: string; costs: string; csv: string }> = {
  openai: { usage: "openai usage API (completions)", costs: "openai costs API", csv: "openai cost CSV export" },
  anthropic: {
    usage: "anthropic usage report (messages)",
    costs: "anthropic cost report",
    csv: "anthropic cost CSV",
  },
};

function part(name: string, parse: () => Parsed): Parsed {
  try {
    return parse();
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) {
      throw invalidRequest([{ path: name, message: err.message }]);
    }
    throw err;
  }
}

export function theirReport(data: ProviderData): TheirReport {
  const { provider } = data;
  const report: TheirReport = {
    provider,
    has: { usage: false, costs: false },
    sources: [],
    from: null,
    to: null,
    lines: [],
    notes: [],
  };
  const merge = (p: Parsed, source: string) => {
    report.lines.push(...p.lines);
    report.notes.push(...p.notes);
    report.sources.push(source);
    if (p.from && (!report.from || p.from < report.from)) report.from = p.from;
    if (p.to && (!report.to || p.to > report.to)) report.to = p.to;
  };
  if (data.usage !== undefined) {
    merge(
      part("usage", () => (provider === "openai" ? parseOpenAIUsage(data.usage) : parseAnthropicUsage(data.usage))),
      NAMES[provider].usage,
    );
    report.has.usage = true;
  }
  if (data.costs !== undefined) {
    merge(
      part("costs", () => (provider === "openai" ? parseOpenAICosts(data.costs) : parseAnthropicCosts(data.costs))),
      NAMES[provider].costs,
    );
    report.has.costs = true;
  }
  if (data.csv !== undefined) {
    if (report.has.costs) throw invalidRequest([{ path: "csv", message: "give the cost report once: costs or csv" }]);
    merge(
      part("csv", () => parseCostCsv(provider, data.csv!)),
      NAMES[provider].csv,
    );
    report.has.costs = true;
  }
  if (!report.has.usage && !report.has.costs) {
    throw invalidRequest([
      { path: "(body)", message: "give the provider's usage report, its cost report (or CSV), or both" },
    ]);
  }
  return report;
}
