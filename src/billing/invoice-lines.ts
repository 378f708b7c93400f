/**
 * An invoice's lines from a period's records (docs/billing.md §7), pure: one usage line per model
 * and feature (per usage bucket too, for unit plans), whose amounts are the records' own billed
 * amounts — so the records add up to the invoice, to the nano-USD — plus the free allowance used
 * (amount 0: the records already priced it in) and a signed true-up line when the records do not add
 * up to P of the period under the plan in force (calls rated under an earlier plan version, or not
 * rated because Redis was down). subtotal = P(period); amount due = subtotal − credits applied.
 */
import { nanoToUsd } from "../lib/money";
import { emptyUsage, TOKEN_BUCKETS, type TokenBucket, type Usage } from "../usage";
import type { Plan } from "./plan";
import { allowanceUsed, type CallAmounts, linearDenominator, meterQuantity, priceOf, totalState } from "./rating";

/** The sums of one (model, feature) group of a period's records. */
export interface RecordGroup {
  model: string | null;
  feature: string | null;
  /** Records with usage (what a plan's request meter counts). */
  requests: number;
  records: number;
  usage: Usage;
  costNano: bigint;
  billedNano: bigint;
  /** Records without a billed amount (not rated). */
  unrated: number;
  overageNano: bigint;
}

export interface InvoiceLine {
  kind: "usage" | "allowance" | "true_up";
  model: string | null;
  feature: string | null;
  bucket: TokenBucket | null;
  description: string;
  /** A decimal string: tokens, requests, or USD of our cost. */
  quantity: string;
  unit: "tokens" | "requests" | "usd_cost" | "usd" | "units";
  unitAmountUsd: string | null;
  amountUsd: string;
}

export interface InvoiceTotals {
  lines: InvoiceLine[];
  subtotalNano: bigint;
  recordsBilledNano: bigint;
  trueUpNano: bigint;
  records: number;
  unratedRecords: number;
  overageNano: bigint;
}

const usd = nanoToUsd;
const label = (g: RecordGroup) => `${g.model ?? "(unknown model)"} · ${g.feature ?? "(no feature)"}`;

/** Splits `total` over weights exactly (Σ parts = total): cumulative floor of the running share. */
function allocate(total: bigint, weights: bigint[]): bigint[] {
  const sum = weights.reduce((s, w) => s + w, 0n);
  if (sum === 0n) return weights.map((_, i) => (i === 0 ? total : 0n));
  let run = 0n;
  let given = 0n;
  return weights.map((w) => {
    run += w;
    const upTo = (total * run) / sum;
    const part = upTo - given;
    given = upTo;
    return part;
  });
}

/** A group as one call's amounts (rating is additive over usage sums). */
const amountsOf = (g: RecordGroup): CallAmounts => ({ usage: g.usage, costNano: g.costNano });

function usageLines(plan: Plan, g: RecordGroup): InvoiceLine[] {
  const d = plan.definition;
  const base = { kind: "usage" as const, model: g.model, feature: g.feature };
  if (d.kind === "unit") {
    const buckets = TOKEN_BUCKETS.filter((b) => g.usage[b] > 0);
    if (buckets.length === 0) {
      return [
        {
          ...base,
          bucket: null,
          description: label(g),
          quantity: "0",
          unit: "tokens",
          unitAmountUsd: null,
          amountUsd: usd(g.billedNano),
        },
      ];
    }
    const parts = allocate(
      g.billedNano,
      buckets.map((b) => BigInt(g.usage[b]) * BigInt(d.ratesPerMTokNano[b] ?? 0)),
    );
    return buckets.map((b, i) => ({
      ...base,
      bucket: b,
      description: `${label(g)} · ${b}`,
      quantity: String(g.usage[b]),
      unit: "tokens",
      unitAmountUsd: `${usd(BigInt(d.ratesPerMTokNano[b] ?? 0))} per million`,
      amountUsd: usd(parts[i]!),
    }));
  }
  if (d.kind === "markup") {
    const multiplier = Number(linearDenominator(d) + BigInt(d.markupBp)) / 10_000;
    return [
      {
        ...base,
        bucket: null,
        description: `${label(g)} at our cost${d.markupBp ? ` + ${d.markupBp / 100} %` : ""}`,
        quantity: usd(g.costNano),
        unit: "usd_cost",
        unitAmountUsd: String(multiplier),
        amountUsd: usd(g.billedNano),
      },
    ];
  }
  const q = meterQuantity(d.meter, { ...amountsOf(g), costNano: g.costNano });
  const quantity = d.meter === "requests" ? BigInt(g.requests) : q;
  return [
    {
      ...base,
      bucket: null,
      description: `${label(g)} · ${d.meter}`,
      quantity: d.meter === "cost" ? usd(quantity) : quantity.toString(),
      unit: d.meter === "cost" ? "usd_cost" : d.meter === "requests" ? "requests" : "tokens",
      unitAmountUsd: null,
      amountUsd: usd(g.billedNano),
    },
  ];
}

export function invoiceLines(plan: Plan, groups: RecordGroup[]): InvoiceTotals {
  const lines = groups.flatMap((g) => usageLines(plan, g));
  const usage = emptyUsage();
  let costNano = 0n;
  let requests = 0;
  for (const g of groups) {
    for (const b of TOKEN_BUCKETS) usage[b] += g.usage[b];
    costNano += g.costNano;
    requests += g.requests;
  }
  // The period as one call: its quantity for the request meter is the number of calls with usage.
  const state =
    plan.definition.kind !== "markup" && plan.definition.kind !== "unit" && plan.definition.meter === "requests"
      ? { s: 0n, q: BigInt(requests) }
      : totalState(plan, [{ usage, costNano }]);
  const subtotalNano = priceOf(plan.definition, state);
  const recordsBilledNano = groups.reduce((s, g) => s + g.billedNano, 0n);
  const free = allowanceUsed(plan.definition, state);
  if (free > 0n) {
    const inUsd = plan.definition.kind === "markup" || plan.definition.kind === "unit";
    lines.push({
      kind: "allowance",
      model: null,
      feature: null,
      bucket: null,
      description: "Free allowance used (priced into the lines above)",
      quantity: inUsd ? usd(free) : free.toString(),
      unit: inUsd ? "usd" : "units",
      unitAmountUsd: null,
      amountUsd: "0.00",
    });
  }
  const trueUpNano = subtotalNano - recordsBilledNano;
  if (trueUpNano !== 0n) {
    lines.push({
      kind: "true_up",
      model: null,
      feature: null,
      bucket: null,
      description: "True-up: the period under the plan in force, less what its calls were billed",
      quantity: "1",
      unit: "units",
      unitAmountUsd: null,
      amountUsd: usd(trueUpNano),
    });
  }
  return {
    lines,
    subtotalNano,
    recordsBilledNano,
    trueUpNano,
    records: groups.reduce((s, g) => s + g.records, 0),
    unratedRecords: groups.reduce((s, g) => s + g.unrated, 0),
    overageNano: groups.reduce((s, g) => s + g.overageNano, 0n),
  };
}
