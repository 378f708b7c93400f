/**
 * The comparison: the provider's lines against ours, per day × model × bucket (and per model and
 * day in total), each with both costs, the difference in USD and percent, both token counts, the
 * rates implied, a flag when the difference is over the thresholds, and the likely causes
 * (explain.ts). Pure: no I/O, all money in bigint nano-USD until the JSON at the end.
 */
import { nanoToUsd } from "../lib/money";
import { explain } from "./explain";
import type { OurSide } from "./ours";
import { ANY_MODEL, addDays, BUCKETS, type Bucket, type TheirLine, type TheirReport } from "./types";

export interface Thresholds {
  /** A line is flagged when its difference is at least this share of the provider's number… */
  percent: number;
  /** …and at least this much money (nano-USD). */
  minDifferenceNano: bigint;
}

export const DEFAULT_THRESHOLDS: Thresholds = { percent: 2, minDifferenceNano: 10_000_000n };

export interface CauseJson {
  code: CauseCode;
  message: string;
}

export type CauseCode =
  | "missing_day"
  | "missing_records"
  | "extra_records"
  | "unpriced_model"
  | "price_change"
  | "bucket_priced_differently"
  | "model_priced_differently"
  | "unexplained";

/** A line while it is being computed. */
export interface Line {
  day: string;
  model: string;
  bucket: Bucket;
  ourTokens: number | null;
  theirTokens: number | null;
  ourCostNano: bigint | null;
  theirCostNano: bigint | null;
  theirRequests: number | null;
  ourRecords: number | null;
  ourUnpriced: number;
  /** nano-USD per Mtok (per 1,000 web searches) Tollgate applied, when one rate did. */
  ourRate: number | null;
  theirLabels: string[];
  flagged: boolean;
  tokensFlagged: boolean;
  causes: CauseJson[];
}

export interface ReportJson {
  provider: string;
  period: { from: string; to: string };
  sources: string[];
  compared: { tokens: boolean; costs: boolean };
  thresholds: { percent: number; minDifferenceUsd: string };
  totals: Money & { flaggedLines: number; lines: number };
  causes: {
    code: CauseCode;
    message: string;
    lines: number;
    days: string[];
    models: string[];
    differenceUsd: string;
  }[];
  days: (Money & { day: string; flagged: boolean; ourRecords: number })[];
  lines: LineJson[];
  notes: string[];
}

interface Money {
  ourCostUsd: string | null;
  theirCostUsd: string | null;
  differenceUsd: string | null;
  differencePercent: number | null;
}

export interface LineJson extends Money {
  day: string;
  model: string;
  bucket: Bucket;
  ourTokens: number | null;
  theirTokens: number | null;
  tokenDifference: number | null;
  tokenDifferencePercent: number | null;
  theirRequests: number | null;
  ourRecords: number | null;
  ourRatePerMTokUsd: string | null;
  theirRatePerMTokUsd: string | null;
  flagged: boolean;
  causes: CauseJson[];
  theirLineItems?: string[];
}

/** Buckets each provider's usage report counts (others are unknown there, not zero). */
const USAGE_BUCKETS: Record<string, readonly Bucket[]> = {
  openai: ["input", "cache_read", "cache_write", "output"],
  anthropic: ["input", "cache_read", "cache_write", "cache_write_1h", "output", "web_search"],
};

const key = (day: string, model: string, bucket: Bucket) => `${day}|${model}|${bucket}`;

/** Our model names mapped to theirs: the same name, or an alias of their dated snapshot ("gpt-4o" ~ "gpt-4o-2024-08-06"). */
function modelMap(ourModels: Set<string>, theirModels: Set<string>): Map<string, string> {
  const map = new Map<string, string>();
  const dated = /^-(\d{4}-?\d{2}-?\d{2}|\d{8}|latest)$/;
  for (const ours of ourModels) {
    if (theirModels.has(ours)) {
      map.set(ours, ours);
      continue;
    }
    const candidates = [...theirModels].filter(
      (t) =>
        (t.startsWith(ours) && dated.test(t.slice(ours.length))) ||
        (ours.startsWith(t) && dated.test(ours.slice(t.length))),
    );
    map.set(ours, candidates.length === 1 ? candidates[0]! : ours);
  }
  return map;
}

/** Rate implied by a cost and a count: nano-USD per Mtok (per 1,000 for web searches). */
export function impliedRate(costNano: bigint | null, tokens: number | null, bucket: Bucket): number | null {
  if (costNano === null || !tokens) return null;
  return (Number(costNano) * (bucket === "web_search" ? 1000 : 1e6)) / tokens;
}

export function compare(
  theirs: TheirReport,
  ours: OurSide,
  period: { from: string; to: string },
  thresholds: Thresholds = DEFAULT_THRESHOLDS,
  context: { accountId: string } = { accountId: "{account}" },
): ReportJson {
  const inPeriod = (d: string) => d >= period.from && d < period.to;
  const theirLines = theirs.lines.filter((l) => inPeriod(l.day));
  const map = modelMap(
    new Set(ours.models.map((m) => m.model)),
    new Set(theirLines.map((l) => l.model).filter((m) => m !== ANY_MODEL)),
  );
  const as = (ourModel: string) => map.get(ourModel) ?? ourModel;

  // Theirs, summed per key (several results can share one: context windows, service tiers).
  const t = new Map<string, { tokens?: number; costNano?: bigint; requests?: number; labels: Set<string> }>();
  for (const l of theirLines) {
    const k = key(l.day, l.model, l.bucket);
    const v = t.get(k) ?? { labels: new Set<string>() };
    if (l.tokens !== undefined) v.tokens = (v.tokens ?? 0) + l.tokens;
    if (l.costNano !== undefined) v.costNano = (v.costNano ?? 0n) + l.costNano;
    if (l.requests !== undefined) v.requests = (v.requests ?? 0) + l.requests;
    if (l.label) v.labels.add(l.label);
    t.set(k, v);
  }
  // Days whose costs come per model and bucket (then a missing line is a zero, not an unknown).
  const fineCostDays = new Set(
    theirLines
      .filter((l) => l.costNano !== undefined && l.model !== ANY_MODEL && l.bucket !== "total")
      .map((l) => l.day),
  );
  const usageBuckets = USAGE_BUCKETS[theirs.provider] ?? [];

  // Ours, under their model names.
  const o = new Map<string, { tokens: number; costNano: bigint; rates: Set<number> }>();
  for (const l of ours.lines.filter((x) => inPeriod(x.day))) {
    for (const m of [as(l.model), ANY_MODEL]) {
      const k = key(l.day, m, l.bucket);
      const v = o.get(k) ?? { tokens: 0, costNano: 0n, rates: new Set<number>() };
      v.tokens += l.tokens;
      v.costNano += l.costNano;
      for (const r of l.rates) v.rates.add(r);
      o.set(k, v);
    }
  }
  const om = new Map<string, { records: number; unpriced: number; costNano: bigint }>();
  for (const m of ours.models.filter((x) => inPeriod(x.day))) {
    for (const name of [as(m.model), ANY_MODEL]) {
      const k = key(m.day, name, "total");
      const v = om.get(k) ?? { records: 0, unpriced: 0, costNano: 0n };
      v.records += m.records;
      v.unpriced += m.unpriced;
      v.costNano += m.costNano;
      om.set(k, v);
    }
  }

  // Which lines: every key either side has, plus each model's total.
  const keys = new Set<string>([...t.keys()]);
  for (const k of o.keys()) if (!k.includes(`|${ANY_MODEL}|`)) keys.add(k);
  for (const k of [...keys]) {
    const [day, model, bucket] = k.split("|") as [string, string, Bucket];
    if (bucket !== "total" && model !== ANY_MODEL) keys.add(key(day, model, "total"));
  }

  const lines: Line[] = [];
  for (const k of keys) {
    const [day, model, bucket] = k.split("|") as [string, string, Bucket];
    const their = t.get(k);
    const total = bucket === "total";
    // Their side: a known number, a zero (their report covers this and has nothing), or unknown.
    let theirTokens: number | null = their?.tokens ?? null;
    if (theirTokens === null && theirs.has.usage && !total && model !== ANY_MODEL && usageBuckets.includes(bucket)) {
      theirTokens = 0;
    }
    let theirCostNano: bigint | null = their?.costNano ?? null;
    if (total && theirCostNano === null && fineCostDays.has(day) && model !== ANY_MODEL) {
      theirCostNano = 0n;
      for (const b of BUCKETS) theirCostNano += t.get(key(day, model, b))?.costNano ?? 0n;
    }
    if (theirCostNano === null && !total && model !== ANY_MODEL && fineCostDays.has(day)) {
      // Anthropic bills web searches without a model: then a model's web-search cost is unknown.
      const searchesApart = bucket === "web_search" && t.has(key(day, ANY_MODEL, "web_search"));
      if (!searchesApart) theirCostNano = 0n;
    }
    // Our side.
    const mine = o.get(k);
    const modelDay = om.get(key(day, model, "total"));
    const ourCostNano = total ? (modelDay?.costNano ?? 0n) : (mine?.costNano ?? 0n);
    const ourTokens = total ? null : (mine?.tokens ?? 0);
    const rates = mine ? [...mine.rates] : [];
    if (theirTokens === null && theirCostNano === null && !mine && !modelDay) continue;
    if (!total && (theirTokens ?? 0) === 0 && (theirCostNano ?? 0n) === 0n && (ourTokens ?? 0) === 0) continue;
    lines.push({
      day,
      model,
      bucket,
      ourTokens,
      theirTokens: total ? null : theirTokens,
      ourCostNano,
      theirCostNano,
      theirRequests: total ? (their?.requests ?? null) : null,
      ourRecords: total ? (modelDay?.records ?? 0) : null,
      ourUnpriced: modelDay?.unpriced ?? 0,
      ourRate: rates.length === 1 ? rates[0]! : null,
      theirLabels: their ? [...their.labels] : [],
      flagged: false,
      tokensFlagged: false,
      causes: [],
    });
  }

  for (const l of lines) flag(l, thresholds);
  explain(lines, {
    provider: theirs.provider,
    accountId: context.accountId,
    daysWithRecords: ours.daysWithRecords,
    thresholds,
  });
  return render(theirs, ours, period, thresholds, lines);
}

const pct = (diff: number, base: number) =>
  base === 0 ? (diff === 0 ? 0 : null) : Math.round((diff / base) * 10_000) / 100;

function flag(l: Line, th: Thresholds): void {
  if (l.ourCostNano !== null && l.theirCostNano !== null) {
    const diff = l.ourCostNano - l.theirCostNano;
    const abs = diff < 0n ? -diff : diff;
    const share = l.theirCostNano === 0n ? Number.POSITIVE_INFINITY : (Number(abs) / Number(l.theirCostNano)) * 100;
    if (abs >= th.minDifferenceNano && share >= th.percent) l.flagged = true;
  }
  if (l.ourTokens !== null && l.theirTokens !== null) {
    const diff = Math.abs(l.ourTokens - l.theirTokens);
    const share = l.theirTokens === 0 ? Number.POSITIVE_INFINITY : (diff / l.theirTokens) * 100;
    // Worth a flag only if it is worth money: the tokens at the rate either side applied.
    const rate = l.ourRate ?? impliedRate(l.theirCostNano, l.theirTokens, l.bucket);
    const worth =
      rate === null
        ? diff >= 1000
        : (diff * rate) / (l.bucket === "web_search" ? 1000 : 1e6) >= Number(th.minDifferenceNano);
    if (share >= th.percent && worth && diff > 0) {
      l.flagged = true;
      l.tokensFlagged = true;
    }
  }
}

function money(ours: bigint | null, theirs: bigint | null): Money {
  const diff = ours !== null && theirs !== null ? ours - theirs : null;
  return {
    ourCostUsd: ours === null ? null : nanoToUsd(ours),
    theirCostUsd: theirs === null ? null : nanoToUsd(theirs),
    differenceUsd: diff === null ? null : nanoToUsd(diff),
    differencePercent: diff === null || theirs === null ? null : pct(Number(diff), Number(theirs)),
  };
}

const rateUsd = (r: number | null) => (r === null ? null : nanoToUsd(BigInt(Math.round(r))));

function render(
  theirs: TheirReport,
  ours: OurSide,
  period: { from: string; to: string },
  th: Thresholds,
  lines: Line[],
): ReportJson {
  const order = (b: Bucket) => (b === "total" ? 99 : BUCKETS.indexOf(b as (typeof BUCKETS)[number]));
  lines.sort(
    (a, b) => a.day.localeCompare(b.day) || a.model.localeCompare(b.model) || order(a.bucket) - order(b.bucket),
  );

  const days: ReportJson["days"] = [];
  for (let d = period.from; d < period.to; d = addDays(d, 1)) {
    const theirLines = theirs.lines.filter((l) => l.day === d && l.costNano !== undefined);
    const theirCost = theirs.has.costs ? theirLines.reduce((s, l) => s + (l.costNano ?? 0n), 0n) : null;
    const mine = ours.models.filter((m) => m.day === d);
    const ourCost = mine.reduce((s, m) => s + m.costNano, 0n);
    days.push({
      day: d,
      ...money(ourCost, theirCost),
      ourRecords: mine.reduce((s, m) => s + m.records, 0),
      flagged: lines.some((l) => l.day === d && l.flagged),
    });
  }

  // Causes summed over the finest lines that carry them (bucket lines, else model totals).
  const summary = new Map<CauseCode, ReportJson["causes"][number] & { nano: bigint }>();
  const finest = lines.filter(
    (l) =>
      l.causes.length &&
      (l.bucket !== "total" ||
        !lines.some(
          (b) => b !== l && b.day === l.day && b.model === l.model && b.bucket !== "total" && b.causes.length,
        )),
  );
  for (const l of finest) {
    for (const c of l.causes) {
      const s = summary.get(c.code) ?? {
        code: c.code,
        message: c.message,
        lines: 0,
        days: [],
        models: [],
        differenceUsd: "0",
        nano: 0n,
      };
      s.lines++;
      if (!s.days.includes(l.day)) s.days.push(l.day);
      if (!s.models.includes(l.model)) s.models.push(l.model);
      if (l.ourCostNano !== null && l.theirCostNano !== null) s.nano += l.ourCostNano - l.theirCostNano;
      summary.set(c.code, s);
    }
  }

  const ourTotalNano = ours.models
    .filter((m) => m.day >= period.from && m.day < period.to)
    .reduce((s, m) => s + m.costNano, 0n);
  const theirTotalNano = theirs.has.costs
    ? theirs.lines.filter((l) => l.day >= period.from && l.day < period.to).reduce((s, l) => s + (l.costNano ?? 0n), 0n)
    : null;

  return {
    provider: theirs.provider,
    period,
    sources: theirs.sources,
    compared: { tokens: theirs.has.usage, costs: theirs.has.costs },
    thresholds: { percent: th.percent, minDifferenceUsd: nanoToUsd(th.minDifferenceNano) },
    totals: {
      ...money(ourTotalNano, theirTotalNano),
      lines: lines.length,
      flaggedLines: lines.filter((l) => l.flagged).length,
    },
    causes: [...summary.values()].map(({ nano, ...c }) => ({ ...c, differenceUsd: nanoToUsd(nano) })),
    days,
    lines: lines.map((l) => {
      const tokenDiff = l.ourTokens !== null && l.theirTokens !== null ? l.ourTokens - l.theirTokens : null;
      return {
        day: l.day,
        model: l.model,
        bucket: l.bucket,
        ...money(l.ourCostNano, l.theirCostNano),
        ourTokens: l.ourTokens,
        theirTokens: l.theirTokens,
        tokenDifference: tokenDiff,
        tokenDifferencePercent: tokenDiff === null ? null : pct(tokenDiff, l.theirTokens ?? 0),
        theirRequests: l.theirRequests,
        ourRecords: l.ourRecords,
        ourRatePerMTokUsd: l.bucket === "total" ? null : rateUsd(l.ourRate),
        theirRatePerMTokUsd:
          l.bucket === "total" ? null : rateUsd(impliedRate(l.theirCostNano, l.theirTokens, l.bucket)),
        flagged: l.flagged,
        causes: l.causes,
        ...(l.theirLabels.length ? { theirLineItems: l.theirLabels } : {}),
      };
    }),
    notes: theirs.notes,
  };
}

export type { TheirLine };
